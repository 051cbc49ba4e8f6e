from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
METHOD_ACCOUNTS_REGISTER: Method
METHOD_ACCOUNTS_REQUEST_PASSWORD_RESET: Method
METHOD_ACCOUNTS_RESET_PASSWORD: Method
METHOD_ACCOUNTS_SIGN_IN: Method
METHOD_AUTH_HELLO: Method
METHOD_HEALTH_CHECK: Method
METHOD_LINKS_ISSUE: Method
METHOD_LINKS_VERIFY: Method
METHOD_SESSIONS_REFRESH: Method
METHOD_SESSIONS_SIGN_OUT: Method
METHOD_SESSIONS_VERIFY: Method
METHOD_UNSPECIFIED: Method
STATUS_CODE_ABORTED: StatusCode
STATUS_CODE_ALREADY_EXISTS: StatusCode
STATUS_CODE_CANCELLED: StatusCode
STATUS_CODE_DATA_LOSS: StatusCode
STATUS_CODE_DEADLINE_EXCEEDED: StatusCode
STATUS_CODE_FAILED_PRECONDITION: StatusCode
STATUS_CODE_INTERNAL: StatusCode
STATUS_CODE_INVALID_ARGUMENT: StatusCode
STATUS_CODE_NOT_FOUND: StatusCode
STATUS_CODE_OK: StatusCode
STATUS_CODE_OUT_OF_RANGE: StatusCode
STATUS_CODE_PERMISSION_DENIED: StatusCode
STATUS_CODE_RESOURCE_EXHAUSTED: StatusCode
STATUS_CODE_UNAUTHENTICATED: StatusCode
STATUS_CODE_UNAVAILABLE: StatusCode
STATUS_CODE_UNIMPLEMENTED: StatusCode
STATUS_CODE_UNKNOWN: StatusCode

class Method(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class StatusCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
