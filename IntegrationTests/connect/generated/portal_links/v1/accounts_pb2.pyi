from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Account(_message.Message):
    __slots__ = ["client_id", "created_at", "display_name", "email", "link_id"]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    created_at: int
    display_name: str
    email: str
    link_id: str
    def __init__(self, email: _Optional[str] = ..., client_id: _Optional[str] = ..., display_name: _Optional[str] = ..., link_id: _Optional[str] = ..., created_at: _Optional[int] = ...) -> None: ...

class PasswordResetRequest(_message.Message):
    __slots__ = ["email"]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    email: str
    def __init__(self, email: _Optional[str] = ...) -> None: ...

class PasswordResetResponse(_message.Message):
    __slots__ = ["email", "expires_at", "reset_token"]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    RESET_TOKEN_FIELD_NUMBER: _ClassVar[int]
    email: str
    expires_at: int
    reset_token: str
    def __init__(self, reset_token: _Optional[str] = ..., expires_at: _Optional[int] = ..., email: _Optional[str] = ...) -> None: ...

class RefreshRequest(_message.Message):
    __slots__ = ["token"]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class RefreshResponse(_message.Message):
    __slots__ = ["session"]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ["display_name", "email", "password", "token"]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    email: str
    password: str
    token: str
    def __init__(self, token: _Optional[str] = ..., email: _Optional[str] = ..., password: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ["account"]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class ResetPasswordRequest(_message.Message):
    __slots__ = ["new_password", "reset_token"]
    NEW_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    RESET_TOKEN_FIELD_NUMBER: _ClassVar[int]
    new_password: str
    reset_token: str
    def __init__(self, reset_token: _Optional[str] = ..., new_password: _Optional[str] = ...) -> None: ...

class ResetPasswordResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class Session(_message.Message):
    __slots__ = ["client_id", "expires_at", "session_id", "signed_in_at", "token"]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_IN_AT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    expires_at: int
    session_id: str
    signed_in_at: int
    token: str
    def __init__(self, token: _Optional[str] = ..., expires_at: _Optional[int] = ..., signed_in_at: _Optional[int] = ..., client_id: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class SessionVerifyRequest(_message.Message):
    __slots__ = ["token"]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class SessionVerifyResponse(_message.Message):
    __slots__ = ["client_id", "expires_at", "reason", "session_id", "signed_in_at", "valid"]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_IN_AT_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    expires_at: int
    reason: str
    session_id: str
    signed_in_at: int
    valid: bool
    def __init__(self, valid: bool = ..., reason: _Optional[str] = ..., client_id: _Optional[str] = ..., session_id: _Optional[str] = ..., expires_at: _Optional[int] = ..., signed_in_at: _Optional[int] = ...) -> None: ...

class SignInRequest(_message.Message):
    __slots__ = ["email", "password"]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class SignInResponse(_message.Message):
    __slots__ = ["account", "session"]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    account: Account
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ..., account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class SignOutRequest(_message.Message):
    __slots__ = ["token"]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class SignOutResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...
