"""portal_links.Client against the conformance server."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any, Dict, List

import pytest

import portal_links
from _support import check_case, eventually, random_email, random_password
from portal_links import Client


@pytest.fixture
def client(main_port: int, api_key: str):
    with Client("127.0.0.1", main_port, api_key) as c:
        yield c


# --- links ---------------------------------------------------------------------------------------------------


def test_every_case_on_the_server_of_its_time(manifest: Dict[str, Any], api_key: str) -> None:
    by_time: Dict[int, List[Dict[str, Any]]] = defaultdict(list)
    for case in manifest["cases"]:
        by_time[case["at"]].append(case)
    problems: List[str] = []
    checked = 0
    for at, cases in by_time.items():
        with Client("127.0.0.1", manifest["ports"][str(at)], api_key) as c:
            for case in cases:
                problems += check_case(case, c.verify(case["token"]))
                checked += 1
    assert checked == len(manifest["cases"]) >= 20
    assert problems == []


def test_verification_of_a_valid_link(client: Client, main_cases: List[Dict[str, Any]]) -> None:
    case = next(c for c in main_cases if c["valid"] and c["display_name"])
    result = client.verify(case["token"])
    assert result == portal_links.Verification(
        valid=True, reason="", client_id=case["client_id"], display_name=case["display_name"],
        expires_at=case["expires_at"], issued_at=case["issued_at"], key_id=case["key_id"], link_id=case["link_id"],
    )
    with pytest.raises(Exception):
        result.valid = False  # type: ignore[misc]  # frozen


def test_registration_link_verifies(client: Client, manifest: Dict[str, Any]) -> None:
    link = manifest["registration_link"]
    result = client.verify(link["token"])
    assert (result.valid, result.client_id, result.display_name) == (True, link["client_id"], link["display_name"])
    assert len(result.link_id) == 16 and len(result.key_id) == 8


def test_invalid_links_come_with_reason_and_sentence(client: Client, main_cases: List[Dict[str, Any]]) -> None:
    for case in main_cases:
        if case["valid"]:
            continue
        result = client.verify(case["token"])
        assert not result.valid and result.reason == case["reason"]
        assert result.reason in portal_links.LINK_REASONS
        assert portal_links.reason_text(result.reason) == portal_links.REASON_TEXT[result.reason] != ""


def test_verify_many_keeps_input_order(client: Client, main_cases: List[Dict[str, Any]]) -> None:
    cases = main_cases * 7
    random.Random(7).shuffle(cases)
    for depth in (1, 5, 64, 1000):
        results = client.verify_many([case["token"] for case in cases], depth=depth)
        assert len(results) == len(cases)
        problems = [p for case, result in zip(cases, results) for p in check_case(case, result)]
        assert problems == [], f"depth {depth}"
    assert client.verify_many([]) == []
    # A generator works too, and the connection is still fine for single calls afterwards.
    assert [r.valid for r in client.verify_many(case["token"] for case in cases[:3])] == [c["valid"] for c in cases[:3]]
    assert client.health() is portal_links.ServingStatus.SERVING


def test_verify_many_large_batch(client: Client, registration_token: str) -> None:
    results = client.verify_many([registration_token] * 20_000, depth=256)
    assert len(results) == 20_000 and all(r.valid and r.client_id == "acme" for r in results)


def test_verify_many_rejects_bad_depth_and_tokens(client: Client) -> None:
    with pytest.raises(ValueError):
        client.verify_many(["x"], depth=0)
    with pytest.raises(TypeError):
        client.verify_many(["a", 42])  # type: ignore[list-item]
    assert client.health() is portal_links.ServingStatus.SERVING


def test_verify_many_needs_the_scope(main_port: int) -> None:
    with Client("127.0.0.1", main_port) as c:
        with pytest.raises(portal_links.Unauthenticated):
            c.verify_many(["a", "b", "c"])
        assert c.health() is portal_links.ServingStatus.SERVING


def test_issue_is_refused_to_a_caller_without_the_scope(main_port: int, verify_only_key: str) -> None:
    with Client("127.0.0.1", main_port, verify_only_key) as c:
        with pytest.raises(portal_links.PermissionDenied):
            c.issue("acme")


# --- connection and protocol --------------------------------------------------------------------------------


def test_health_and_caller(client: Client) -> None:
    assert client.health() is portal_links.ServingStatus.SERVING
    assert client.health("portal_links.v1") is portal_links.ServingStatus.SERVING
    with pytest.raises(portal_links.NotFound):
        client.health("no.such.Service")
    assert client.caller is not None
    assert client.caller.name == "conformance"
    assert set(client.caller.scopes) == {"verify", "issue", "accounts"}


def test_health_needs_no_api_key(main_port: int) -> None:
    with Client("127.0.0.1", main_port) as c:
        assert c.caller is None
        assert c.health() is portal_links.ServingStatus.SERVING


def test_unknown_method_is_unimplemented_and_the_connection_stays(client: Client, registration_token: str) -> None:
    connection = client._connection
    with pytest.raises(portal_links.Unimplemented) as raised:
        client.call(99, b"")
    assert raised.value.status == portal_links.StatusCode.UNIMPLEMENTED == 12
    assert client.verify(registration_token).valid
    assert client._connection is connection


def test_generic_call_with_a_generated_message(client: Client, registration_token: str) -> None:
    from portal_links.v1 import links_pb2

    payload = links_pb2.VerifyRequest(token=registration_token).SerializeToString()
    answer = links_pb2.VerifyResponse.FromString(client.call(portal_links.Method.LINKS_VERIFY, payload))
    assert answer.valid and answer.client_id == "acme"
    with pytest.raises(ValueError):
        client.call(70000)


def test_no_api_key_is_unauthenticated(main_port: int, registration_token: str) -> None:
    with Client("127.0.0.1", main_port) as c:
        with pytest.raises(portal_links.Unauthenticated):
            c.verify(registration_token)


def test_verify_only_key_cannot_register(main_port: int, verify_only_key: str, registration_token: str) -> None:
    with Client("127.0.0.1", main_port, verify_only_key) as c:
        assert c.caller is not None and c.caller.scopes == ("verify",)
        assert c.verify(registration_token).valid
        with pytest.raises(portal_links.PermissionDenied):
            c.register(registration_token, random_email(), random_password())


def test_wrong_api_key_at_connect(main_port: int) -> None:
    with pytest.raises(portal_links.Unauthenticated):
        Client("127.0.0.1", main_port, "plk_not-a-key")


def test_lazy_connect_reports_at_first_call(main_port: int) -> None:
    c = Client("127.0.0.1", main_port, "plk_not-a-key", connect=False)
    try:
        assert "not connected" in repr(c)
        with pytest.raises(portal_links.Unauthenticated):
            c.health()
    finally:
        c.close()


def test_oversize_payload_drops_the_connection_and_the_next_call_reconnects(
    client: Client, manifest: Dict[str, Any], registration_token: str
) -> None:
    first = client._connection
    with pytest.raises(portal_links.Unavailable):
        client.verify("A" * (manifest["max_frame_bytes"] + 1))
    result = client.verify(registration_token)
    assert result.valid
    assert client._connection is not first
    assert client.caller is not None and client.caller.name == "conformance"  # said Hello again


def test_connection_refused_is_unavailable() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(portal_links.Unavailable) as raised:
        Client("127.0.0.1", port, "k", connect_timeout=2)
    assert "refused" in str(raised.value)


def test_closed_client_refuses_calls(main_port: int, api_key: str) -> None:
    c = Client("127.0.0.1", main_port, api_key)
    c.close()
    c.close()  # twice is fine
    with pytest.raises(portal_links.Unavailable):
        c.health()
    assert "closed" in repr(c)


def test_threads_share_a_client(client: Client, main_cases: List[Dict[str, Any]]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cases = main_cases * 10
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda case: client.verify(case["token"]), cases))
    assert [p for case, r in zip(cases, results) for p in check_case(case, r)] == []


# --- TLS ------------------------------------------------------------------------------------------------------


def test_tls(manifest: Dict[str, Any], tls_files: Dict[str, str], api_key: str,
             main_cases: List[Dict[str, Any]]) -> None:
    context = portal_links.tls_context(ca=tls_files["ca"])
    with Client("127.0.0.1", manifest["main"]["tls_port"], api_key, tls=context, server_hostname="localhost") as c:
        assert c.health() is portal_links.ServingStatus.SERVING
        problems = [p for case in main_cases for p in check_case(case, c.verify(case["token"]))]
        results = c.verify_many([case["token"] for case in main_cases] * 50, depth=32)
        problems += [p for case, r in zip(main_cases * 50, results) for p in check_case(case, r)]
    assert problems == []


def test_tls_checks_the_server_certificate(manifest: Dict[str, Any], tls_files: Dict[str, str], api_key: str) -> None:
    port = manifest["main"]["tls_port"]
    with pytest.raises(portal_links.Unavailable) as raised:
        Client("127.0.0.1", port, api_key, tls=portal_links.tls_context())  # system CAs: not ours
    assert "certificate" in str(raised.value)
    with pytest.raises(portal_links.Unavailable):
        Client("127.0.0.1", port, api_key, tls=portal_links.tls_context(ca=tls_files["ca"]),
               server_hostname="elsewhere.example")


def test_mutual_tls(manifest: Dict[str, Any], tls_files: Dict[str, str], api_key: str,
                    main_cases: List[Dict[str, Any]]) -> None:
    context = portal_links.tls_context(ca=tls_files["ca"], cert=tls_files["client_cert"], key=tls_files["client_key"])
    with Client("127.0.0.1", manifest["main"]["mtls_port"], api_key, tls=context, server_hostname="localhost") as c:
        problems = [p for case in main_cases for p in check_case(case, c.verify(case["token"]))]
        results = c.verify_many([case["token"] for case in main_cases], depth=8)
        problems += [p for case, r in zip(main_cases, results) for p in check_case(case, r)]
    assert problems == []


def test_mutual_tls_without_a_client_certificate(manifest: Dict[str, Any], tls_files: Dict[str, str],
                                                 api_key: str) -> None:
    context = portal_links.tls_context(ca=tls_files["ca"])
    with pytest.raises(portal_links.Unavailable):
        with Client("127.0.0.1", manifest["main"]["mtls_port"], api_key, tls=context, server_hostname="localhost") as c:
            c.health()


# --- accounts and sessions ---------------------------------------------------------------------------------


def test_register_sign_in_refresh_sign_out(client: Client, manifest: Dict[str, Any]) -> None:
    link = manifest["registration_link"]
    link_id = client.verify(link["token"]).link_id
    email, password = random_email(), random_password()
    account = client.register(link["token"], "  " + email.upper() + " ", password, display_name="Ana")
    assert account.email == email  # trimmed and case-folded
    assert (account.client_id, account.display_name, account.link_id) == (link["client_id"], "Ana", link_id)
    assert account.created_at == manifest["main"]["at"]

    signed_in = client.sign_in(email, password)
    assert signed_in.account == account
    session = signed_in.session
    assert session.client_id == "acme" and len(session.session_id) == 16
    assert session.signed_in_at == manifest["main"]["at"] < session.expires_at

    check = client.verify_session(session.token)
    assert (check.valid, check.reason, check.client_id, check.session_id) == (True, "", "acme", session.session_id)
    assert (check.expires_at, check.signed_in_at) == (session.expires_at, session.signed_in_at)

    fresh = client.refresh_session(session.token)
    assert fresh.session_id == session.session_id and fresh.token
    assert client.verify_session(fresh.token).valid

    client.sign_out(fresh.token)
    # Sign-out reaches every server within a second.
    ended = eventually(lambda: client.verify_session(fresh.token), lambda answer: not answer.valid)
    assert (ended.valid, ended.reason) == (False, "ended")
    assert client.verify_session(session.token).reason == "ended"
    client.sign_out(fresh.token)  # signing out again is fine
    with pytest.raises(portal_links.Unauthenticated):
        client.refresh_session(fresh.token)
    assert client.verify_session("not-a-session").reason == "malformed"


def test_duplicate_email_already_exists(client: Client, registration_token: str) -> None:
    email = random_email()
    client.register(registration_token, email, random_password())
    with pytest.raises(portal_links.AlreadyExists):
        client.register(registration_token, email.upper(), random_password())


@pytest.mark.parametrize("password", ["short", "password123", "x" * 257])
def test_weak_password_is_invalid_argument(client: Client, registration_token: str, password: str) -> None:
    with pytest.raises(portal_links.InvalidArgument) as raised:
        client.register(registration_token, random_email(), password)
    assert raised.value.message


def test_malformed_email_is_invalid_argument(client: Client, registration_token: str) -> None:
    with pytest.raises(portal_links.InvalidArgument):
        client.register(registration_token, "not an email", random_password())


def test_register_through_an_invalid_link(client: Client, main_cases: List[Dict[str, Any]]) -> None:
    for name in ("link revoked", "client disabled", "padded"):
        case = next(c for c in main_cases if c["name"] == name)
        with pytest.raises(portal_links.FailedPrecondition) as raised:
            client.register(case["token"], random_email(), random_password())
        assert raised.value.reason == case["reason"]
        assert portal_links.reason_text(raised.value.reason) == portal_links.REASON_TEXT[case["reason"]]


def test_wrong_password_is_unauthenticated(client: Client, registration_token: str) -> None:
    email = random_email()
    client.register(registration_token, email, random_password())
    with pytest.raises(portal_links.Unauthenticated):
        client.sign_in(email, random_password())
    with pytest.raises(portal_links.Unauthenticated):
        client.sign_in(random_email(), random_password())


def test_password_reset(client: Client, registration_token: str) -> None:
    email, old, new = random_email(), random_password(), random_password()
    client.register(registration_token, email, old)
    session = client.sign_in(email, old).session

    reset = client.request_password_reset(email.upper())
    assert reset.reset_token and reset.expires_at > 0
    assert reset.email == email  # the address on record, where the token must go
    with pytest.raises(portal_links.InvalidArgument):
        client.reset_password(reset.reset_token, "short")  # refused, the token stays usable
    client.reset_password(reset.reset_token, new)

    ended = eventually(lambda: client.verify_session(session.token), lambda answer: not answer.valid)
    assert ended.reason == "ended"
    with pytest.raises(portal_links.Unauthenticated):
        client.sign_in(email, old)
    assert client.sign_in(email, new).account.email == email
    with pytest.raises(portal_links.Unauthenticated):
        client.reset_password(reset.reset_token, random_password())  # once only

    nobody = client.request_password_reset(random_email())
    assert (nobody.reset_token, nobody.expires_at, nobody.email) == ("", 0, "")


def test_issue(client: Client) -> None:
    issued = client.issue("acme", display_name="Acme Corp", sent_to=["ana@example.com"], max_accounts=1,
                          base_url="https://portal.example.com/join")
    assert issued.url == f"https://portal.example.com/join?token={issued.token}"
    assert issued.expires_at > issued.issued_at and len(issued.link_id) == 16
    check = client.verify(issued.token)
    assert (check.valid, check.client_id, check.display_name, check.link_id) == (True, "acme", "Acme Corp",
                                                                                 issued.link_id)
    client.register(issued.token, random_email(), random_password())
    with pytest.raises(portal_links.FailedPrecondition) as raised:
        client.register(issued.token, random_email(), random_password())
    assert raised.value.reason == "link_full"
    with pytest.raises(portal_links.InvalidArgument):
        client.issue("has spaces")
    with pytest.raises(TypeError):
        client.issue("acme", sent_to="ana@example.com")


# --- secrets stay out of errors and reprs ----------------------------------------------------------------------


def test_secrets_stay_out_of_errors_and_reprs(main_port: int, api_key: str, registration_token: str,
                                              manifest: Dict[str, Any]) -> None:
    texts: List[str] = []

    def record(error: BaseException) -> None:
        texts.extend([str(error), repr(error), str(error.args)])

    wrong_key = "plk_" + "S3cretKey" * 4
    with pytest.raises(portal_links.Unauthenticated) as raised:
        Client("127.0.0.1", main_port, wrong_key)
    record(raised.value)

    password = "Sup3rSecretPassw0rd!"
    with Client("127.0.0.1", main_port, api_key) as c:
        texts.append(repr(c))
        email = random_email()
        c.register(registration_token, email, password)
        with pytest.raises(portal_links.Unauthenticated) as raised:
            c.sign_in(email, password + "x")
        record(raised.value)
        with pytest.raises(portal_links.AlreadyExists) as raised:
            c.register(registration_token, email, password)
        record(raised.value)
        with pytest.raises(portal_links.InvalidArgument) as raised:
            c.register(registration_token, random_email(), "password1")
        record(raised.value)
        bad_link = registration_token[:-4] + "AAAA"
        with pytest.raises(portal_links.FailedPrecondition) as raised:
            c.register(bad_link, random_email(), password)
        record(raised.value)
        oversize = "T0ken" * (manifest["max_frame_bytes"] // 5 + 1)
        with pytest.raises(portal_links.Unavailable) as raised:
            c.verify(oversize)
        record(raised.value)
        signed_in = c.sign_in(email, password)
        texts.extend([repr(signed_in), repr(signed_in.session)])
        reset = c.request_password_reset(email)
        texts.append(repr(reset))
        with pytest.raises(portal_links.Unauthenticated) as raised:
            c.refresh_session(signed_in.session.token + "x")
        record(raised.value)
        issued = c.issue("acme", base_url="https://portal.example.com/join")
        texts.append(repr(issued))
        with pytest.raises(ValueError) as value_error:
            c.sign_in(email, "\ud800" + password)
        record(value_error.value)

    secrets = [wrong_key, api_key, password, registration_token, bad_link, "T0kenT0ken", signed_in.session.token,
               reset.reset_token, issued.token]
    leaks = [(secret[:8] + "...", text) for secret in secrets for text in texts if secret in text]
    assert leaks == []
    assert all(texts)
