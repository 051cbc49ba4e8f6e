"""Why a link was refused: the reason names and a sentence for each, for a join page.

The names are those of the ``Reason`` enum in ``links.proto``, in lower snake case (``REASON_LINK_REVOKED``
is ``"link_revoked"``), as :meth:`verify` reports them and as :meth:`register` puts them in
``FailedPrecondition.reason``; :meth:`register` adds ``"link_full"``.
"""

from __future__ import annotations

from typing import Dict, Mapping, Tuple

from .v1 import links_pb2

__all__ = ["LINK_REASONS", "REASON_TEXT", "reason_text"]

_PREFIX = "REASON_"

# Wire number -> name; 0 (REASON_UNSPECIFIED, a valid link) is "".
_NAMES: Dict[int, str] = {
    number: ("" if number == 0 else name[len(_PREFIX) :].lower()) for name, number in links_pb2.Reason.items()
}


def _reason_name(number: int) -> str:
    """The name of a wire reason; ``"reason_N"`` for a number newer than this library."""
    name = _NAMES.get(number)
    return name if name is not None else f"reason_{number}"


#: Every reason a link can be refused with, by :meth:`verify` or :meth:`register`.
LINK_REASONS: Tuple[str, ...] = tuple(name for _, name in sorted(_NAMES.items()) if name) + ("link_full",)

_ASK = "ask your contact for a new one."

#: A sentence for the person who opened the link, for every name in :data:`LINK_REASONS`. They say what
#: happened and what to do, without details that would help someone forge a link.
REASON_TEXT: Mapping[str, str] = {
    "malformed": "This link is incomplete or damaged. Check that you opened or copied all of it, or " + _ASK,
    "unsupported_version": "This link is not in a format this portal understands; " + _ASK,
    "unknown_key": "This link cannot be checked; " + _ASK,
    "key_disabled": "This link is no longer accepted; " + _ASK,
    "key_expired": "This link is no longer accepted; " + _ASK,
    "bad_signature": "This link is not valid: it may have been changed since it was sent; " + _ASK,
    "expired": "This link has expired; " + _ASK,
    "not_yet_valid": "This link is not active yet; try again later.",
    "link_revoked": "This link has been withdrawn; " + _ASK,
    "client_revoked": "This link has been withdrawn; " + _ASK,
    "client_disabled": "Access for your company is suspended at the moment; please get in touch with your contact.",
    "link_full": "This invitation has already been used by everyone it was meant for; " + _ASK,
}

_FALLBACK = "This link cannot be used; " + _ASK


def reason_text(reason: str) -> str:
    """A sentence for people explaining why a link was refused.

    ``reason`` is :attr:`Verification.reason` or :attr:`FailedPrecondition.reason`. A valid link's empty
    reason gives ``""``; a reason newer than this library gives a general sentence.

    >>> reason_text("expired")
    'This link has expired; ask your contact for a new one.'
    """
    if not reason:
        return ""
    return REASON_TEXT.get(reason, _FALLBACK)
