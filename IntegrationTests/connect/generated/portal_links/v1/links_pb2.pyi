from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
REASON_BAD_SIGNATURE: Reason
REASON_CLIENT_DISABLED: Reason
REASON_CLIENT_REVOKED: Reason
REASON_EXPIRED: Reason
REASON_KEY_DISABLED: Reason
REASON_KEY_EXPIRED: Reason
REASON_LINK_REVOKED: Reason
REASON_MALFORMED: Reason
REASON_NOT_YET_VALID: Reason
REASON_UNKNOWN_KEY: Reason
REASON_UNSPECIFIED: Reason
REASON_UNSUPPORTED_VERSION: Reason

class IssueRequest(_message.Message):
    __slots__ = ["base_url", "client_id", "display_name", "expires_at", "max_accounts", "sent_to"]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    MAX_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    SENT_TO_FIELD_NUMBER: _ClassVar[int]
    base_url: str
    client_id: str
    display_name: str
    expires_at: int
    max_accounts: int
    sent_to: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, client_id: _Optional[str] = ..., display_name: _Optional[str] = ..., expires_at: _Optional[int] = ..., sent_to: _Optional[_Iterable[str]] = ..., base_url: _Optional[str] = ..., max_accounts: _Optional[int] = ...) -> None: ...

class IssueResponse(_message.Message):
    __slots__ = ["expires_at", "issued_at", "key_id", "link_id", "token", "url"]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    expires_at: int
    issued_at: int
    key_id: str
    link_id: str
    token: str
    url: str
    def __init__(self, token: _Optional[str] = ..., url: _Optional[str] = ..., link_id: _Optional[str] = ..., expires_at: _Optional[int] = ..., issued_at: _Optional[int] = ..., key_id: _Optional[str] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = ["token"]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ["client_id", "display_name", "expires_at", "issued_at", "key_id", "link_id", "reason", "valid"]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    display_name: str
    expires_at: int
    issued_at: int
    key_id: str
    link_id: str
    reason: Reason
    valid: bool
    def __init__(self, valid: bool = ..., client_id: _Optional[str] = ..., display_name: _Optional[str] = ..., expires_at: _Optional[int] = ..., issued_at: _Optional[int] = ..., key_id: _Optional[str] = ..., reason: _Optional[_Union[Reason, str]] = ..., link_id: _Optional[str] = ...) -> None: ...

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
