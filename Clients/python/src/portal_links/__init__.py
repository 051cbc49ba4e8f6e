"""Python client for PortalLinks: verify invitation links, register and sign in the people who open them,
check their sessions, and issue links, over PortalLinks' wire protocol v1.

>>> import portal_links
>>> with portal_links.Client("127.0.0.1", 7420, api_key=API_KEY) as client:   # doctest: +SKIP
...     result = client.verify(token)
...     if result.valid:
...         print("Welcome,", result.display_name or result.client_id)
...     else:
...         print(portal_links.reason_text(result.reason))

:class:`Client` blocks; :class:`AsyncClient` is its asyncio counterpart. Refusals raise subclasses of
:class:`PortalLinksError`, one per status.
"""

from ._wire import Method
from .aio import AsyncClient
from .client import DEFAULT_DEPTH, Client
from .errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    PortalLinksError,
    ResourceExhausted,
    StatusCode,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    error_for_status,
)
from .models import (
    Account,
    Caller,
    IssuedLink,
    PasswordReset,
    ServingStatus,
    Session,
    SessionVerification,
    SignedIn,
    Verification,
)
from .reasons import LINK_REASONS, REASON_TEXT, reason_text
from .tls import tls_context

__version__ = "0.1.0"

__all__ = [
    "Client",
    "AsyncClient",
    "DEFAULT_DEPTH",
    "Method",
    "tls_context",
    # results
    "Verification",
    "IssuedLink",
    "Account",
    "Session",
    "SignedIn",
    "SessionVerification",
    "PasswordReset",
    "ServingStatus",
    "Caller",
    # reasons
    "LINK_REASONS",
    "REASON_TEXT",
    "reason_text",
    # errors
    "StatusCode",
    "PortalLinksError",
    "error_for_status",
    "Cancelled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
]
