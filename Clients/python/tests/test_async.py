"""portal_links.AsyncClient against the conformance server. Each test runs its own event loop."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from typing import Any, Awaitable, Dict, List, TypeVar

import pytest

import portal_links
from _support import check_case, eventually_async, random_email, random_password
from portal_links import AsyncClient

T = TypeVar("T")


def run(coroutine: Awaitable[T]) -> T:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


# --- links ---------------------------------------------------------------------------------------------------


def test_every_case_on_the_server_of_its_time(manifest: Dict[str, Any], api_key: str) -> None:
    by_time: Dict[int, List[Dict[str, Any]]] = defaultdict(list)
    for case in manifest["cases"]:
        by_time[case["at"]].append(case)

    async def main() -> List[str]:
        problems: List[str] = []
        for at, cases in by_time.items():
            async with AsyncClient("127.0.0.1", manifest["ports"][str(at)], api_key) as c:
                results = await asyncio.gather(*(c.verify(case["token"]) for case in cases))
                problems += [p for case, r in zip(cases, results) for p in check_case(case, r)]
        return problems

    assert len(manifest["cases"]) >= 20
    assert run(main()) == []


def test_gather_200_verifies_on_one_connection(main_port: int, api_key: str, main_cases: List[Dict[str, Any]]) -> None:
    cases = (main_cases * 20)[:200]
    random.Random(3).shuffle(cases)

    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            connection = c._protocol
            results = await asyncio.gather(*(c.verify(case["token"]) for case in cases))
            assert c._protocol is connection
            assert [p for case, r in zip(cases, results) for p in check_case(case, r)] == []
            assert connection is not None and connection.pending == {}

    run(main())


def test_verify_many_keeps_input_order(main_port: int, api_key: str, main_cases: List[Dict[str, Any]]) -> None:
    cases = main_cases * 7
    random.Random(11).shuffle(cases)

    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            for depth in (1, 5, 64, 1000):
                results = await c.verify_many([case["token"] for case in cases], depth=depth)
                assert len(results) == len(cases)
                assert [p for case, r in zip(cases, results) for p in check_case(case, r)] == [], depth
            assert await c.verify_many([]) == []
            # verify_many and single calls at the same time on one connection
            many, single = await asyncio.gather(
                c.verify_many([case["token"] for case in cases], depth=16), c.verify(cases[0]["token"])
            )
            assert [p for case, r in zip(cases, many) for p in check_case(case, r)] == []
            assert check_case(cases[0], single) == []
            with pytest.raises(ValueError):
                await c.verify_many(["x"], depth=0)

    run(main())


def test_verify_many_large_batch(main_port: int, api_key: str, registration_token: str) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            results = await c.verify_many([registration_token] * 20_000, depth=256)
            assert len(results) == 20_000 and all(r.valid and r.client_id == "acme" for r in results)

    run(main())


def test_verify_many_error_leaves_the_connection_usable(main_port: int) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port) as c:
            # Fewer than the 16 calls a connection may make before a Hello (the server closes it after those).
            with pytest.raises(portal_links.Unauthenticated):
                await c.verify_many(["a"] * 12, depth=4)
            assert await c.health() is portal_links.ServingStatus.SERVING

    run(main())


# --- connection and protocol --------------------------------------------------------------------------------


def test_health_and_caller(main_port: int, api_key: str) -> None:
    async def main() -> None:
        c = AsyncClient("127.0.0.1", main_port, api_key)
        assert c.caller is None and "not connected" in repr(c)
        assert await c.health() is portal_links.ServingStatus.SERVING  # connects on first use
        assert c.caller is not None and set(c.caller.scopes) == {"verify", "issue", "accounts"}
        with pytest.raises(portal_links.NotFound):
            await c.health("no.such.Service")
        await c.close()
        with pytest.raises(portal_links.Unavailable):
            await c.health()

    run(main())


def test_unknown_method_is_unimplemented_and_the_connection_stays(main_port: int, api_key: str,
                                                                  registration_token: str) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            connection = c._protocol
            with pytest.raises(portal_links.Unimplemented):
                await c.call(99, b"")
            assert (await c.verify(registration_token)).valid
            assert c._protocol is connection

    run(main())


def test_no_api_key_is_unauthenticated(main_port: int, registration_token: str) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port) as c:
            assert await c.health() is portal_links.ServingStatus.SERVING
            with pytest.raises(portal_links.Unauthenticated):
                await c.verify(registration_token)

    run(main())


def test_verify_only_key_cannot_register(main_port: int, verify_only_key: str, registration_token: str) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, verify_only_key) as c:
            assert c.caller is not None and c.caller.scopes == ("verify",)
            with pytest.raises(portal_links.PermissionDenied):
                await c.register(registration_token, random_email(), random_password())
            with pytest.raises(portal_links.PermissionDenied):
                await c.issue("acme")

    run(main())


def test_wrong_api_key_at_connect(main_port: int) -> None:
    async def main() -> None:
        with pytest.raises(portal_links.Unauthenticated):
            async with AsyncClient("127.0.0.1", main_port, "plk_not-a-key"):
                pass

    run(main())


def test_oversize_payload_drops_the_connection_and_the_next_call_reconnects(
    main_port: int, api_key: str, manifest: Dict[str, Any], registration_token: str
) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            first = c._protocol
            with pytest.raises(portal_links.Unavailable):
                await c.verify("A" * (manifest["max_frame_bytes"] + 1))
            assert (await c.verify(registration_token)).valid
            assert c._protocol is not first
            assert c.caller is not None and c.caller.name == "conformance"

    run(main())


def test_a_dropped_connection_fails_the_calls_in_flight(main_port: int, api_key: str, manifest: Dict[str, Any],
                                                        registration_token: str) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            calls = [c.verify(registration_token) for _ in range(20)]
            calls.append(c.verify("A" * (manifest["max_frame_bytes"] + 1)))
            calls += [c.sign_in(random_email(), random_password()) for _ in range(3)]  # still hashing
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(r, portal_links.Verification) and r.valid for r in results[:20])
            assert all(isinstance(r, portal_links.Unavailable) for r in results[20:]), results[20:]
            assert (await c.verify(registration_token)).valid

    run(main())


def test_concurrent_callers_share_one_reconnect(main_port: int, api_key: str, registration_token: str) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            assert c._protocol is not None
            c._protocol.abort()
            await asyncio.sleep(0.05)
            results = await asyncio.gather(*(c.verify(registration_token) for _ in range(50)))
            assert all(r.valid for r in results)
            connection = c._protocol
            assert connection is not None and connection.usable

    run(main())


# --- TLS ------------------------------------------------------------------------------------------------------


def test_tls(manifest: Dict[str, Any], tls_files: Dict[str, str], api_key: str,
             main_cases: List[Dict[str, Any]]) -> None:
    async def main() -> None:
        context = portal_links.tls_context(ca=tls_files["ca"])
        async with AsyncClient("127.0.0.1", manifest["main"]["tls_port"], api_key, tls=context,
                               server_hostname="localhost") as c:
            results = await asyncio.gather(*(c.verify(case["token"]) for case in main_cases))
            many = await c.verify_many([case["token"] for case in main_cases] * 50, depth=32)
        problems = [p for case, r in zip(main_cases, results) for p in check_case(case, r)]
        problems += [p for case, r in zip(main_cases * 50, many) for p in check_case(case, r)]
        assert problems == []
        with pytest.raises(portal_links.Unavailable):
            async with AsyncClient("127.0.0.1", manifest["main"]["tls_port"], api_key,
                                   tls=portal_links.tls_context()):
                pass

    run(main())


def test_mutual_tls(manifest: Dict[str, Any], tls_files: Dict[str, str], api_key: str,
                    main_cases: List[Dict[str, Any]]) -> None:
    async def main() -> None:
        context = portal_links.tls_context(ca=tls_files["ca"], cert=tls_files["client_cert"],
                                           key=tls_files["client_key"])
        async with AsyncClient("127.0.0.1", manifest["main"]["mtls_port"], api_key, tls=context,
                               server_hostname="localhost") as c:
            results = await asyncio.gather(*(c.verify(case["token"]) for case in main_cases))
        assert [p for case, r in zip(main_cases, results) for p in check_case(case, r)] == []
        with pytest.raises(portal_links.Unavailable):
            async with AsyncClient("127.0.0.1", manifest["main"]["mtls_port"], api_key,
                                   tls=portal_links.tls_context(ca=tls_files["ca"]), server_hostname="localhost") as c:
                await c.health()

    run(main())


# --- accounts and sessions ---------------------------------------------------------------------------------


def test_register_sign_in_refresh_sign_out(main_port: int, api_key: str, manifest: Dict[str, Any]) -> None:
    link = manifest["registration_link"]

    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            email, password = random_email(), random_password()
            account = await c.register(link["token"], email, password)
            assert (account.email, account.client_id) == (email, link["client_id"])
            signed_in = await c.sign_in(email, password)
            assert signed_in.account == account
            session = signed_in.session
            check = await c.verify_session(session.token)
            assert (check.valid, check.session_id) == (True, session.session_id)
            fresh = await c.refresh_session(session.token)
            assert fresh.session_id == session.session_id
            await c.sign_out(fresh.token)
            ended = await eventually_async(lambda: c.verify_session(fresh.token), lambda answer: not answer.valid)
            assert (ended.valid, ended.reason) == (False, "ended")
            with pytest.raises(portal_links.Unauthenticated):
                await c.refresh_session(fresh.token)

    run(main())


def test_registration_refusals(main_port: int, api_key: str, registration_token: str,
                               main_cases: List[Dict[str, Any]]) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            email = random_email()
            await c.register(registration_token, email, random_password())
            with pytest.raises(portal_links.AlreadyExists):
                await c.register(registration_token, email, random_password())
            with pytest.raises(portal_links.InvalidArgument):
                await c.register(registration_token, random_email(), "password1")
            with pytest.raises(portal_links.InvalidArgument):
                await c.register(registration_token, random_email(), "short")
            revoked = next(case for case in main_cases if case["name"] == "link revoked")
            with pytest.raises(portal_links.FailedPrecondition) as raised:
                await c.register(revoked["token"], random_email(), random_password())
            assert raised.value.reason == "link_revoked"
            with pytest.raises(portal_links.Unauthenticated):
                await c.sign_in(email, random_password())

    run(main())


def test_password_reset(main_port: int, api_key: str, registration_token: str) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            email, old, new = random_email(), random_password(), random_password()
            await c.register(registration_token, email, old)
            session = (await c.sign_in(email, old)).session
            reset = await c.request_password_reset(email)
            assert reset.reset_token and reset.email == email
            await c.reset_password(reset.reset_token, new)
            ended = await eventually_async(lambda: c.verify_session(session.token), lambda answer: not answer.valid)
            assert ended.reason == "ended"
            with pytest.raises(portal_links.Unauthenticated):
                await c.sign_in(email, old)
            assert (await c.sign_in(email, new)).account.email == email
            with pytest.raises(portal_links.Unauthenticated):
                await c.reset_password(reset.reset_token, random_password())
            assert (await c.request_password_reset(random_email())).reset_token == ""

    run(main())


def test_concurrent_registrations(main_port: int, api_key: str, registration_token: str) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            emails = [random_email() for _ in range(10)]
            accounts = await asyncio.gather(*(c.register(registration_token, e, random_password()) for e in emails))
            assert [a.email for a in accounts] == emails
            # One email registered twice at the same moment makes one account.
            email = random_email()
            results = await asyncio.gather(
                *(c.register(registration_token, email, random_password()) for _ in range(2)), return_exceptions=True
            )
            assert sorted(type(r).__name__ for r in results) == ["Account", "AlreadyExists"]

    run(main())


def test_issue(main_port: int, api_key: str) -> None:
    async def main() -> None:
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            issued = await c.issue("globex", display_name="Globex", max_accounts=2)
            check = await c.verify(issued.token)
            assert (check.valid, check.client_id, check.display_name, check.link_id) == (
                True, "globex", "Globex", issued.link_id)

    run(main())


def test_secrets_stay_out_of_errors_and_reprs(main_port: int, api_key: str, registration_token: str,
                                              manifest: Dict[str, Any]) -> None:
    wrong_key = "plk_" + "S3cretKey" * 4
    password = "Sup3rSecretPassw0rd!"
    oversize = "T0ken" * (manifest["max_frame_bytes"] // 5 + 1)

    async def main() -> List[str]:
        texts: List[str] = []

        def record(error: BaseException) -> None:
            texts.extend([str(error), repr(error), str(error.args)])

        with pytest.raises(portal_links.Unauthenticated) as raised:
            await AsyncClient("127.0.0.1", main_port, wrong_key).connect()
        record(raised.value)
        async with AsyncClient("127.0.0.1", main_port, api_key) as c:
            texts.append(repr(c))
            email = random_email()
            await c.register(registration_token, email, password)
            for call, error in [
                (c.sign_in(email, password + "x"), portal_links.Unauthenticated),
                (c.register(registration_token, email, password), portal_links.AlreadyExists),
                (c.register(registration_token, random_email(), "password1"), portal_links.InvalidArgument),
                (c.register(registration_token[:-4] + "AAAA", random_email(), password),
                 portal_links.FailedPrecondition),
                (c.verify(oversize), portal_links.Unavailable),
                (c.refresh_session("x" + registration_token), portal_links.Unauthenticated),
            ]:
                with pytest.raises(error) as raised:
                    await call
                record(raised.value)
            signed_in = await c.sign_in(email, password)
            texts.append(repr(signed_in))
            texts.append(repr(await c.request_password_reset(email)))
        return texts

    texts = run(main())
    secrets = [wrong_key, api_key, password, registration_token, registration_token[:-4], "T0kenT0ken"]
    assert [(s[:8], t) for s in secrets for t in texts if s in t] == []
