from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class HelloRequest(_message.Message):
    __slots__ = ["api_key"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    def __init__(self, api_key: _Optional[str] = ...) -> None: ...

class HelloResponse(_message.Message):
    __slots__ = ["caller", "scopes"]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    caller: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, caller: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ...) -> None: ...
