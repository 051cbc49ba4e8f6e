from portal_links.v1 import accounts_pb2 as _accounts_pb2
from portal_links.v1 import health_pb2 as _health_pb2
from portal_links.v1 import links_pb2 as _links_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
