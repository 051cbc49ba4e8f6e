"""What the calls return: small immutable records.

Times are Unix seconds (``int``), as on the wire. Fields that hold a secret (a session token, an issued
link's token, a reset token) are left out of ``repr()`` so that logging a record does not leak it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple, Tuple

__all__ = [
    "ServingStatus",
    "Caller",
    "Verification",
    "IssuedLink",
    "Account",
    "Session",
    "SignedIn",
    "SessionVerification",
    "PasswordReset",
]


class ServingStatus(enum.IntEnum):
    """What :meth:`health` reports."""

    UNKNOWN = 0
    #: The server takes calls.
    SERVING = 1
    #: The server is draining before shutdown: send new calls elsewhere.
    NOT_SERVING = 2


@dataclass(frozen=True)
class Caller:
    """Who the API key stands for, as the server's answer to the connection's Hello named it."""

    #: The caller's name, as ``portal-links callers add NAME`` gave it.
    name: str
    #: What the caller may call: any of ``"verify"``, ``"issue"``, ``"accounts"``.
    scopes: Tuple[str, ...]


class Verification(NamedTuple):
    """The answer to :meth:`verify`. An invalid link is an answer like any other: ``valid`` is false and
    ``reason`` says why.

    ``client_id``, ``display_name``, ``expires_at``, ``issued_at``, ``key_id`` and ``link_id`` are filled
    when the link's signature checked out: for valid links and for links refused for expiry or revocation.
    Otherwise they are empty (``""`` and ``0``), since nothing in the token can be trusted.

    A named tuple rather than a dataclass: ``verify_many`` makes one per token, and tuples of plain values
    cost less to build and nothing to Python's garbage collector once collected once (measured: a third more
    verifies per second on 100,000-token batches).
    """

    valid: bool
    #: ``""`` for a valid link; otherwise one of :data:`portal_links.LINK_REASONS`, such as ``"expired"`` or
    #: ``"link_revoked"``. :func:`portal_links.reason_text` turns it into a sentence for people.
    reason: str
    #: The client company the link is for (a UUID or a short text ID).
    client_id: str
    #: The company's name as the link carries it; may be empty.
    display_name: str
    expires_at: int
    issued_at: int
    #: 8 hex digits: the signing key.
    key_id: str
    #: 16 hex digits: names the link in revocations, the ledger and logs.
    link_id: str


@dataclass(frozen=True)
class IssuedLink:
    """The answer to :meth:`issue`."""

    #: The token alone; left out of ``repr()``.
    token: str = field(repr=False)
    #: ``base_url?token=...``; empty when neither the request nor the server has a base URL. Left out of
    #: ``repr()``, since it holds the token.
    url: str = field(repr=False)
    link_id: str
    expires_at: int
    issued_at: int
    key_id: str


@dataclass(frozen=True)
class Account:
    """An account as callers see it."""

    #: Normalised: trimmed and case-folded.
    email: str
    #: The client company the account belongs to: the one of the link it registered through.
    client_id: str
    display_name: str
    #: 16 hex digits: the link the account registered through.
    link_id: str
    created_at: int


@dataclass(frozen=True)
class Session:
    """A signed-in session."""

    #: Give it to the browser (for instance in an HttpOnly cookie); left out of ``repr()``.
    token: str = field(repr=False)
    #: The token stops working then unless refreshed (idle timeout, 30 minutes by default).
    expires_at: int
    #: No refresh goes past this plus the absolute limit (12 hours by default).
    signed_in_at: int
    client_id: str
    #: 16 hex digits; names the session in the activity log.
    session_id: str


@dataclass(frozen=True)
class SignedIn:
    """The answer to :meth:`sign_in`."""

    session: Session
    account: Account


@dataclass(frozen=True)
class SessionVerification:
    """The answer to :meth:`verify_session`. A session that does not hold is an answer like any other."""

    valid: bool
    #: ``""`` when valid; otherwise ``"malformed"``, ``"unknown_key"``, ``"key_disabled"``,
    #: ``"bad_signature"``, ``"expired"`` (idle or absolute limit) or ``"ended"`` (signed out, password
    #: changed or reset, account or client disabled, account moved or removed).
    reason: str
    #: The rest are set when valid.
    client_id: str
    session_id: str
    expires_at: int
    signed_in_at: int


@dataclass(frozen=True)
class PasswordReset:
    """The answer to :meth:`request_password_reset`."""

    #: Email it to the account's owner at :attr:`email`; works once, within an hour. Empty when the email has
    #: no account that can be reset (the server answers the same either way). Left out of ``repr()``.
    reset_token: str = field(repr=False)
    #: 0 with an empty token.
    expires_at: int
    #: The address on record: send the token there and nowhere else, never to the address the person typed,
    #: which can differ in case or Unicode spelling and reach another mailbox. Empty with an empty token.
    email: str = ""
