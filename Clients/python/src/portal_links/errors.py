"""Status codes and the exceptions a call raises when it does not succeed.

Every refusal from the server carries a status (gRPC's canonical numbers), a line for people and, where the
status alone is not enough, a machine-readable ``reason`` (why :meth:`register` refused a link). Each status
has its own exception class, so callers can write ``except portal_links.AlreadyExists``.

Messages come from the server, which never puts a token, password or key in them, or from this library,
which never does either: exceptions are safe to log.
"""

from __future__ import annotations

import enum
from typing import Dict, Optional, Type, Union

__all__ = [
    "StatusCode",
    "PortalLinksError",
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
    "error_for_status",
]


class StatusCode(enum.IntEnum):
    """The response header's status: gRPC's canonical codes (``StatusCode`` in ``wire.proto``)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


def _status_name(status: int) -> str:
    try:
        return StatusCode(status).name
    except ValueError:
        return f"STATUS_{status}"


class PortalLinksError(Exception):
    """A call that did not succeed.

    Attributes:
        status: the wire status, a :class:`StatusCode` (a plain ``int`` for a number this library does not
            know).
        message: one line for people, from the server or, for connection failures, from this library.
        reason: the server's machine-readable reason where it gives one (why :meth:`register` refused a
            link: ``"expired"``, ``"link_revoked"``, ``"link_full"``, ...); ``""`` otherwise.
    """

    #: The status of every instance of the subclass; ``None`` on the base class.
    code: Optional[StatusCode] = None

    status: Union[StatusCode, int]
    message: str
    reason: str

    def __init__(self, status: int, message: str = "", reason: str = "") -> None:
        try:
            self.status = StatusCode(status)
        except ValueError:
            self.status = int(status)
        self.message = message
        self.reason = reason
        super().__init__(message)

    def __str__(self) -> str:
        text = f"{_status_name(self.status)}: {self.message}" if self.message else _status_name(self.status)
        if self.reason:
            text += f" (reason: {self.reason})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={int(self.status)}, message={self.message!r}, reason={self.reason!r})"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keeps subclasses (whose __init__ takes no status) picklable, for multiprocessing and the like.
        return (error_for_status, (int(self.status), self.message, self.reason))


class _StatusError(PortalLinksError):
    """Base of the per-status classes: the status is implied by the class."""

    def __init__(self, message: str = "", reason: str = "") -> None:
        assert self.code is not None
        super().__init__(self.code, message, reason)


class Cancelled(_StatusError):
    code = StatusCode.CANCELLED


class Unknown(_StatusError):
    code = StatusCode.UNKNOWN


class InvalidArgument(_StatusError):
    """The request was refused as it stands: a malformed email, a weak or common password, a bad
    ``client_id``, name, expiry or address in :meth:`issue`, or a payload that is not the method's message."""

    code = StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(_StatusError):
    """No answer in time: the call's deadline passed on the server before its work began (nothing was
    done), or the client stopped waiting (the call may still have taken effect)."""

    code = StatusCode.DEADLINE_EXCEEDED


class NotFound(_StatusError):
    """Health check of a service the server does not know."""

    code = StatusCode.NOT_FOUND


class AlreadyExists(_StatusError):
    """Registration with an email that has an account."""

    code = StatusCode.ALREADY_EXISTS


class PermissionDenied(_StatusError):
    """The API key's caller lacks the method's scope (``verify``, ``issue`` or ``accounts``)."""

    code = StatusCode.PERMISSION_DENIED


class ResourceExhausted(_StatusError):
    """Too many password hashes waiting on the server; nothing was done. Retry after a moment."""

    code = StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(_StatusError):
    """Registration through an invalid or full link (``reason`` says why), or a key ring that does not allow
    the call."""

    code = StatusCode.FAILED_PRECONDITION


class Aborted(_StatusError):
    code = StatusCode.ABORTED


class OutOfRange(_StatusError):
    code = StatusCode.OUT_OF_RANGE


class Unimplemented(_StatusError):
    """A method id the server does not know. The connection stays usable."""

    code = StatusCode.UNIMPLEMENTED


class Internal(_StatusError):
    """A storage failure on the server, or an answer this client cannot decode."""

    code = StatusCode.INTERNAL


class Unavailable(_StatusError):
    """The server cannot be reached, the connection was lost or closed, or the server is shutting down.

    Calls that were in flight on a lost connection fail with this error (they may or may not have taken
    effect); the next call opens a new connection.
    """

    code = StatusCode.UNAVAILABLE


class DataLoss(_StatusError):
    code = StatusCode.DATA_LOSS


class Unauthenticated(_StatusError):
    """No successful Hello on the connection, a wrong or revoked API key, a refused sign-in, or a session or
    reset token that does not hold."""

    code = StatusCode.UNAUTHENTICATED


_BY_STATUS: Dict[int, Type[_StatusError]] = {
    int(cls.code or 0): cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}


def error_for_status(status: int, message: str = "", reason: str = "") -> PortalLinksError:
    """The exception for a wire status: an instance of the status's class, or of :class:`PortalLinksError`
    for a number without one."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        return PortalLinksError(status, message, reason)
    return cls(message, reason)
