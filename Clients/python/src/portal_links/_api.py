"""Requests and answers of the methods, shared by the synchronous and the asyncio client.

Each method is a pair: a function that serializes the request, and one that turns the answer's payload into
a record (or raises the error for a non-OK status).
"""

from __future__ import annotations

from typing import Callable, Iterable, Type, TypeVar, Union

from google.protobuf.message import DecodeError, Message

from . import _wire
from .errors import Internal, PortalLinksError, error_for_status
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
from .reasons import _NAMES as _REASON_NAMES
from .reasons import _reason_name
from .v1 import accounts_pb2, auth_pb2, error_pb2, health_pb2, links_pb2

M = TypeVar("M", bound=Message)
T = TypeVar("T")


def text(value: str, what: str) -> str:
    """``value`` if it is a str that UTF-8 can encode; the errors never quote it (it may be a secret)."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text") from None
    return value


def error(status: int, payload: bytes) -> PortalLinksError:
    """The exception for a non-OK answer, from its ``Error`` payload."""
    try:
        detail = error_pb2.Error.FromString(payload)
    except DecodeError:
        return error_for_status(status, "the server's error message could not be decoded")
    return error_for_status(status, detail.message, detail.reason)


def parse(cls: Type[M], status: int, payload: bytes) -> M:
    """The answer's message, or the error for a non-OK status."""
    if status != 0:
        raise error(status, payload)
    try:
        return cls.FromString(payload)
    except DecodeError:
        raise Internal(f"the server's answer is not a {cls.DESCRIPTOR.full_name}") from None


def ok_payload(status: int, payload: bytes) -> bytes:
    """The payload of an OK answer, or the error for any other status (for :meth:`call`)."""
    if status != 0:
        raise error(status, payload)
    return payload


# --- Health.Check -----------------------------------------------------------------------------------------


def health_request(service: str) -> bytes:
    return health_pb2.HealthCheckRequest(service=text(service, "service")).SerializeToString()


def health_answer(status: int, payload: bytes) -> ServingStatus:
    value = parse(health_pb2.HealthCheckResponse, status, payload).status
    try:
        return ServingStatus(value)
    except ValueError:
        return ServingStatus.UNKNOWN


# --- Auth.Hello -------------------------------------------------------------------------------------------


def hello_request(api_key: str) -> bytes:
    return auth_pb2.HelloRequest(api_key=text(api_key, "api_key")).SerializeToString()


def hello_answer(status: int, payload: bytes) -> Caller:
    answer = parse(auth_pb2.HelloResponse, status, payload)
    return Caller(name=answer.caller, scopes=tuple(answer.scopes))


# --- Links ------------------------------------------------------------------------------------------------

def verify_request(token: str) -> bytes:
    return _wire.verify_payload(text(token, "token"))


_VerifyResponse = links_pb2.VerifyResponse


def _verification_maker() -> Callable[[Union[bytes, memoryview]], Verification]:
    # The hot path of verify_many: everything it needs is bound locally, and the record is built with
    # tuple.__new__ directly (Verification is a NamedTuple), skipping its keyword-parsing __new__.
    from_string = _VerifyResponse.FromString
    names = _REASON_NAMES
    name_of = _reason_name
    new = tuple.__new__
    assert Verification._fields == (
        "valid", "reason", "client_id", "display_name", "expires_at", "issued_at", "key_id", "link_id")

    def make(payload: Union[bytes, memoryview]) -> Verification:
        # The protobuf runtime parses a memoryview as well as bytes, which spares a copy.
        try:
            m = from_string(payload)  # type: ignore[arg-type]
        except DecodeError:
            raise Internal("the server's answer is not a portal_links.v1.VerifyResponse") from None
        reason = m.reason
        return new(Verification, (m.valid, names[reason] if reason in names else name_of(reason), m.client_id,
                                  m.display_name, m.expires_at, m.issued_at, m.key_id, m.link_id))

    return make


verification = _verification_maker()


def verify_answer(status: int, payload: bytes) -> Verification:
    if status != 0:
        raise error(status, payload)
    return verification(payload)


def issue_request(
    client_id: str,
    display_name: str,
    expires_at: int,
    sent_to: Iterable[str],
    base_url: str,
    max_accounts: int,
) -> bytes:
    if isinstance(sent_to, str):
        raise TypeError("sent_to takes a list of addresses, not one string")
    return links_pb2.IssueRequest(
        client_id=text(client_id, "client_id"),
        display_name=text(display_name, "display_name"),
        expires_at=int(expires_at),
        sent_to=[text(address, "sent_to") for address in sent_to],
        base_url=text(base_url, "base_url"),
        max_accounts=int(max_accounts),
    ).SerializeToString()


def issue_answer(status: int, payload: bytes) -> IssuedLink:
    m = parse(links_pb2.IssueResponse, status, payload)
    return IssuedLink(
        token=m.token, url=m.url, link_id=m.link_id, expires_at=m.expires_at, issued_at=m.issued_at, key_id=m.key_id
    )


# --- Accounts and sessions --------------------------------------------------------------------------------


def _account(m: accounts_pb2.Account) -> Account:
    return Account(
        email=m.email, client_id=m.client_id, display_name=m.display_name, link_id=m.link_id, created_at=m.created_at
    )


def _session(m: accounts_pb2.Session) -> Session:
    return Session(
        token=m.token,
        expires_at=m.expires_at,
        signed_in_at=m.signed_in_at,
        client_id=m.client_id,
        session_id=m.session_id,
    )


def register_request(token: str, email: str, password: str, display_name: str) -> bytes:
    return accounts_pb2.RegisterRequest(
        token=text(token, "token"),
        email=text(email, "email"),
        password=text(password, "password"),
        display_name=text(display_name, "display_name"),
    ).SerializeToString()


def register_answer(status: int, payload: bytes) -> Account:
    return _account(parse(accounts_pb2.RegisterResponse, status, payload).account)


def sign_in_request(email: str, password: str) -> bytes:
    request = accounts_pb2.SignInRequest(email=text(email, "email"), password=text(password, "password"))
    return request.SerializeToString()


def sign_in_answer(status: int, payload: bytes) -> SignedIn:
    m = parse(accounts_pb2.SignInResponse, status, payload)
    return SignedIn(session=_session(m.session), account=_account(m.account))


def session_verify_request(token: str) -> bytes:
    return accounts_pb2.SessionVerifyRequest(token=text(token, "token")).SerializeToString()


def session_verify_answer(status: int, payload: bytes) -> SessionVerification:
    m = parse(accounts_pb2.SessionVerifyResponse, status, payload)
    return SessionVerification(
        valid=m.valid,
        reason=m.reason,
        client_id=m.client_id,
        session_id=m.session_id,
        expires_at=m.expires_at,
        signed_in_at=m.signed_in_at,
    )


def refresh_request(token: str) -> bytes:
    return accounts_pb2.RefreshRequest(token=text(token, "token")).SerializeToString()


def refresh_answer(status: int, payload: bytes) -> Session:
    return _session(parse(accounts_pb2.RefreshResponse, status, payload).session)


def sign_out_request(token: str) -> bytes:
    return accounts_pb2.SignOutRequest(token=text(token, "token")).SerializeToString()


def empty_answer(status: int, payload: bytes) -> None:
    # SignOutResponse and ResetPasswordResponse have no fields: nothing to decode beyond the status.
    if status != 0:
        raise error(status, payload)


def password_reset_request(email: str) -> bytes:
    return accounts_pb2.PasswordResetRequest(email=text(email, "email")).SerializeToString()


def password_reset_answer(status: int, payload: bytes) -> PasswordReset:
    m = parse(accounts_pb2.PasswordResetResponse, status, payload)
    return PasswordReset(reset_token=m.reset_token, expires_at=m.expires_at, email=m.email)


def reset_password_request(reset_token: str, new_password: str) -> bytes:
    return accounts_pb2.ResetPasswordRequest(
        reset_token=text(reset_token, "reset_token"), new_password=text(new_password, "new_password")
    ).SerializeToString()
