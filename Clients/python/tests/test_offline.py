"""Framing, errors and reasons, and connection behaviour against a scripted server (no conformance server)."""

from __future__ import annotations

import asyncio
import pickle
import re
import socket
import time
from pathlib import Path
from typing import List

import pytest

import portal_links
from _support import FakeServer, answer, read_request
from portal_links import AsyncClient, Client, _wire
from portal_links.v1 import auth_pb2, error_pb2, health_pb2, links_pb2

REPO = Path(__file__).resolve().parents[3]

SERVING = health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING).SerializeToString()
HELLO = auth_pb2.HelloResponse(caller="test", scopes=["verify"]).SerializeToString()


# --- framing --------------------------------------------------------------------------------------------------


def test_request_header_matches_the_documented_example() -> None:
    assert _wire.request(1, 7, 0, b"") == bytes.fromhex("01 00 00 01 00 00 00 07 00 00 00 00 00 00 00 00")


@pytest.mark.parametrize("length", [0, 1, 64, 127, 128, 216, 300, 1023, 1024, 16383, 16384, 70000])
def test_hand_encoded_verify_request_matches_protobuf(length: int) -> None:
    token = ("é" if length % 2 else "A") * length
    assert _wire.verify_payload(token) == links_pb2.VerifyRequest(token=token).SerializeToString()


def test_verify_frames_match_frames_of_protobuf_requests() -> None:
    tokens = ["", "A", "é" * 63, "B" * 127, "C" * 128, "D" * 16383, "E" * 16384, "F" * 70000]
    expected = b"".join(
        _wire.request(3, (0xFFFFFFFE + i) & 0xFFFFFFFF, 1500, links_pb2.VerifyRequest(token=t).SerializeToString())
        for i, t in enumerate(tokens)
    )
    remaining = iter(tokens + ["not taken"])
    data, count = _wire.verify_frames(remaining, len(tokens), 0xFFFFFFFE, 1500)  # call ids wrap round
    assert (data, count) == (expected, len(tokens))
    assert next(remaining) == "not taken"
    assert _wire.verify_frames(iter([]), 5, 1, 0) == (b"", 0)
    with pytest.raises(TypeError):
        _wire.verify_frames(iter([b"bytes"]), 1, 1, 0)  # type: ignore[list-item]


def test_deadline_ms() -> None:
    assert _wire.deadline_ms(None) == 0
    assert _wire.deadline_ms(0.0001) == 1
    assert _wire.deadline_ms(2.5) == 2500
    assert _wire.deadline_ms(1e12) == 0xFFFFFFFF


def test_method_ids_match_the_proto_enum() -> None:
    from portal_links.v1 import wire_pb2

    names = {name[len("METHOD_"):]: number for name, number in wire_pb2.Method.items() if number}
    assert {m.name: int(m) for m in portal_links.Method} == names


# --- errors ---------------------------------------------------------------------------------------------------


def test_status_codes_match_the_proto_enum() -> None:
    from portal_links.v1 import wire_pb2

    names = {name[len("STATUS_CODE_"):]: number for name, number in wire_pb2.StatusCode.items()}
    assert {s.name: int(s) for s in portal_links.StatusCode} == names


def test_every_status_has_its_class() -> None:
    for status in portal_links.StatusCode:
        if status == portal_links.StatusCode.OK:
            continue
        error = portal_links.error_for_status(status, "message", "reason")
        assert type(error).__name__.lower() == status.name.replace("_", "").lower()
        assert isinstance(error, portal_links.PortalLinksError)
        assert error.status is status and type(error).code is status
        assert (error.message, error.reason) == ("message", "reason")
    unknown = portal_links.error_for_status(42, "odd")
    assert type(unknown) is portal_links.PortalLinksError and unknown.status == 42
    assert str(unknown) == "STATUS_42: odd"


def test_error_text_and_pickling() -> None:
    error = portal_links.FailedPrecondition("the link is not valid", "expired")
    assert str(error) == "FAILED_PRECONDITION: the link is not valid (reason: expired)"
    assert repr(error) == "FailedPrecondition(status=9, message='the link is not valid', reason='expired')"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is portal_links.FailedPrecondition and (copy.message, copy.reason) == (error.message, "expired")
    assert str(portal_links.Unavailable()) == "UNAVAILABLE"


# --- reasons --------------------------------------------------------------------------------------------------


def test_link_reasons_are_those_of_the_protocol_document() -> None:
    text = (REPO / "docs" / "protocol.md").read_text()
    line = text[text.index("`Reason` numbers:"):].split("\n\n")[0]
    documented = re.findall(r"\d+ ([a-z_]+)", line)
    assert documented[0] == "unspecified"
    assert portal_links.LINK_REASONS == tuple(documented[1:]) + ("link_full",)


def test_every_reason_has_a_sentence() -> None:
    assert set(portal_links.REASON_TEXT) == set(portal_links.LINK_REASONS)
    for reason in portal_links.LINK_REASONS:
        sentence = portal_links.reason_text(reason)
        assert sentence.endswith(".") and "_" not in sentence  # for people, not a code
    assert portal_links.reason_text("expired") == "This link has expired; ask your contact for a new one."
    assert portal_links.reason_text("") == ""
    assert portal_links.reason_text("something_new").startswith("This link cannot be used")


def test_verification_decoding_builds_a_proper_record() -> None:
    from portal_links import _api

    message = links_pb2.VerifyResponse(valid=False, reason=links_pb2.REASON_EXPIRED, client_id="acme",
                                       display_name="Acme Corp", expires_at=2, issued_at=1, key_id="0a0b0c0d",
                                       link_id="fe5836de6edf34c9")
    expected = portal_links.Verification(valid=False, reason="expired", client_id="acme", display_name="Acme Corp",
                                         expires_at=2, issued_at=1, key_id="0a0b0c0d", link_id="fe5836de6edf34c9")
    for payload in (message.SerializeToString(), memoryview(b"xx" + message.SerializeToString())[2:]):
        result = _api.verification(payload)
        assert type(result) is portal_links.Verification
        assert result == expected and hash(result) == hash(expected) and repr(result) == repr(expected)
        assert result._asdict() == expected._asdict()
        with pytest.raises(AttributeError):
            result.valid = True  # type: ignore[misc]
    with pytest.raises(portal_links.Internal):
        _api.verification(b"\xff\xff\xff")


def test_reason_newer_than_the_library() -> None:
    from portal_links import _api

    payload = links_pb2.VerifyResponse(valid=False, reason=42).SerializeToString()  # type: ignore[arg-type]
    assert _api.verification(payload).reason == "reason_42"
    assert _api.verification(b"").reason == ""


def test_records_keep_secrets_out_of_repr() -> None:
    session = portal_links.Session(token="SECRET-session", expires_at=2, signed_in_at=1, client_id="acme",
                                   session_id="0123456789abcdef")
    issued = portal_links.IssuedLink(token="SECRET-link", url="https://x/?token=SECRET-link", link_id="l",
                                     expires_at=2, issued_at=1, key_id="k")
    reset = portal_links.PasswordReset(reset_token="SECRET-reset", expires_at=3)
    for record in (session, issued, reset, portal_links.SignedIn(session, portal_links.Account("a", "b", "", "l", 1))):
        assert "SECRET" not in repr(record)


def test_secret_arguments_are_never_quoted() -> None:
    from portal_links import _api

    with pytest.raises(TypeError) as raised:
        _api.sign_in_request("a@example.com", 12345678)  # type: ignore[arg-type]
    assert "12345678" not in str(raised.value) and "password" in str(raised.value)
    with pytest.raises(ValueError) as raised_value:
        _api.hello_request("plk_\ud800secret")
    assert "secret" not in str(raised_value.value)


def test_tls_context_needs_the_certificate_with_a_key() -> None:
    with pytest.raises(ValueError):
        portal_links.tls_context(key="client.key")


# --- against a scripted server ---------------------------------------------------------------------------------


def _hello_then(serve):  # type: ignore[no-untyped-def]
    """A handler that answers the Hello, then hands over to ``serve``."""

    def handler(sock: socket.socket, index: int) -> None:
        request = read_request(sock)
        assert request is not None and request[0] == 2
        answer(sock, request[1], HELLO)
        serve(sock, index)

    return handler


def _echo_verifies_in_reverse(batch: int):  # type: ignore[no-untyped-def]
    """Answers verifies ``batch`` at a time, last first, with client_id set to the token."""

    def serve(sock: socket.socket, index: int) -> None:
        while True:
            requests = []
            for _ in range(batch):
                request = read_request(sock)
                if request is None:
                    return
                requests.append(request)
            for method, call_id, _, payload in reversed(requests):
                assert method == 3
                token = links_pb2.VerifyRequest.FromString(payload).token
                answer(sock, call_id, links_pb2.VerifyResponse(valid=True, client_id=token).SerializeToString())

    return serve


def test_answers_out_of_order_are_matched_by_call_id() -> None:
    tokens = [f"token-{i}" for i in range(100)]
    with FakeServer(_hello_then(_echo_verifies_in_reverse(10))) as server:
        with Client("127.0.0.1", server.port, "key") as c:
            assert c.caller == portal_links.Caller("test", ("verify",))
            assert [r.client_id for r in c.verify_many(tokens, depth=10)] == tokens

        async def main() -> List[str]:
            async with AsyncClient("127.0.0.1", server.port, "key") as c:
                results = await asyncio.gather(*(c.verify(t) for t in tokens))
                assert [r.client_id for r in await c.verify_many(tokens, depth=10)] == tokens
                return [r.client_id for r in results]

        assert asyncio.run(main()) == tokens
        assert server.errors == []


def _late_then_prompt(sock: socket.socket, index: int) -> None:
    """Answers the first call only after the second has arrived, then both (the first one late)."""
    first = read_request(sock)
    second = read_request(sock)
    assert first is not None and second is not None
    assert first[2] == 200  # the timeout went out as the deadline, in ms
    answer(sock, first[1], SERVING)
    answer(sock, second[1], health_pb2.HealthCheckResponse(status=2).SerializeToString())
    read_request(sock)


def test_timeout_is_deadline_exceeded_and_the_late_answer_is_dropped() -> None:
    with FakeServer(_late_then_prompt) as server:
        with Client("127.0.0.1", server.port, timeout=0.2) as c:
            started = time.monotonic()
            with pytest.raises(portal_links.DeadlineExceeded):
                c.health()
            assert time.monotonic() - started < 2
            c.timeout = 5
            assert c.health() is portal_links.ServingStatus.NOT_SERVING  # not the first call's late answer

        async def main() -> None:
            async with AsyncClient("127.0.0.1", server.port, timeout=0.2) as c:
                with pytest.raises(portal_links.DeadlineExceeded):
                    await c.health()
                c.timeout = 5
                assert await c.health() is portal_links.ServingStatus.NOT_SERVING

        asyncio.run(main())
        assert server.connections == 2 and server.errors == []


def _slow_verifies(sock: socket.socket, index: int) -> None:
    """Answers verifies (client_id = token) 0.5 s after the first of each burst arrives."""
    sock.settimeout(0.05)
    while True:
        requests = []
        try:
            while True:
                request = read_request(sock)
                if request is None:
                    return
                requests.append(request)
        except socket.timeout:
            pass
        if requests:
            time.sleep(0.5)
            for _, call_id, _, payload in requests:
                token = links_pb2.VerifyRequest.FromString(payload).token
                answer(sock, call_id, links_pb2.VerifyResponse(valid=True, client_id=token).SerializeToString())


def test_verify_many_timeout_and_the_late_answers() -> None:
    tokens = [f"t{i}" for i in range(20)]
    with FakeServer(_slow_verifies) as server:
        with Client("127.0.0.1", server.port, timeout=0.2) as c:
            with pytest.raises(portal_links.DeadlineExceeded):
                c.verify_many(["late"] * 20, depth=10)
            c.timeout = 5
            assert [r.client_id for r in c.verify_many(tokens, depth=10)] == tokens

        async def main() -> None:
            async with AsyncClient("127.0.0.1", server.port, timeout=0.2) as c:
                with pytest.raises(portal_links.DeadlineExceeded):
                    await c.verify_many(["late"] * 20, depth=10)
                c.timeout = 5
                assert [r.client_id for r in await c.verify_many(tokens, depth=10)] == tokens
                assert c._protocol is not None and c._protocol.pending == {}

        asyncio.run(main())
        assert server.connections == 2 and server.errors == []


def test_no_answer_to_hello_is_unavailable() -> None:
    def silent(sock: socket.socket, index: int) -> None:
        read_request(sock)
        read_request(sock)

    with FakeServer(silent) as server:
        with pytest.raises(portal_links.Unavailable) as raised:
            Client("127.0.0.1", server.port, "key", connect_timeout=0.3)
        assert "Hello" in str(raised.value)

        async def main() -> None:
            with pytest.raises(portal_links.Unavailable):
                await AsyncClient("127.0.0.1", server.port, "key", connect_timeout=0.3).connect()

        asyncio.run(main())


def _serve_health(sock: socket.socket) -> None:
    """Answers every call SERVING until the client goes."""
    while True:
        request = read_request(sock)
        if request is None:
            return
        answer(sock, request[1], SERVING)


def _close_when_idle_then_serve(sock: socket.socket, index: int) -> None:
    """The first connection is closed by the server as soon as the Hello is answered (as an idle one would be);
    later ones answer health checks."""
    if index != 0:
        _serve_health(sock)


def test_a_connection_the_server_closed_is_replaced_before_the_next_call() -> None:
    with FakeServer(_hello_then(_close_when_idle_then_serve)) as server:
        with Client("127.0.0.1", server.port, "key") as c:
            time.sleep(0.2)  # the server has closed it by now
            assert c.health() is portal_links.ServingStatus.SERVING
            assert c.caller is not None
        assert server.connections == 2

    with FakeServer(_hello_then(_close_when_idle_then_serve)) as server:

        async def main() -> None:
            async with AsyncClient("127.0.0.1", server.port, "key") as c:
                await asyncio.sleep(0.2)
                assert await c.health() is portal_links.ServingStatus.SERVING

        asyncio.run(main())
        assert server.connections == 2


def _drop_first_connection_mid_call(sock: socket.socket, index: int) -> None:
    while True:
        request = read_request(sock)
        if request is None:
            return
        if index == 0 and request[0] != 2:
            return  # read a call, then hang up without answering
        answer(sock, request[1], HELLO if request[0] == 2 else SERVING)


def test_a_drop_fails_the_call_in_flight_and_the_next_call_reconnects() -> None:
    with FakeServer(_drop_first_connection_mid_call) as server:
        with Client("127.0.0.1", server.port, "key") as c:
            with pytest.raises(portal_links.Unavailable) as raised:
                c.health()
            assert "lost" in str(raised.value)
            assert c.health() is portal_links.ServingStatus.SERVING
        assert server.connections == 2

    with FakeServer(_drop_first_connection_mid_call) as server:

        async def main() -> None:
            async with AsyncClient("127.0.0.1", server.port, "key") as c:
                results = await asyncio.gather(*(c.health() for _ in range(5)), return_exceptions=True)
                assert all(isinstance(r, portal_links.Unavailable) for r in results)
                assert await c.health() is portal_links.ServingStatus.SERVING

        asyncio.run(main())
        assert server.connections == 2


def _unavailable_on_first_connection(sock: socket.socket, index: int) -> None:
    # The first connection answers like a node that is shutting down but has not closed yet.
    while True:
        request = read_request(sock)
        if request is None:
            return
        if request[0] == 2:
            answer(sock, request[1], HELLO)
        elif index == 0:
            answer(sock, request[1], error_pb2.Error(message="the server is shutting down").SerializeToString(), status=14)
        else:
            answer(sock, request[1], SERVING)


def test_an_unavailable_answer_sends_the_next_call_to_a_new_connection() -> None:
    with FakeServer(_unavailable_on_first_connection) as server:
        with Client("127.0.0.1", server.port, "key") as c:
            with pytest.raises(portal_links.Unavailable, match="shutting down"):
                c.health()
            assert c.health() is portal_links.ServingStatus.SERVING
        assert server.connections == 2


def _unavailable_while_an_earlier_call_is_in_flight(sock: socket.socket, index: int) -> None:
    # The first connection, like a draining node: a call in flight is answered after a later call got UNAVAILABLE.
    if index == 0:
        first = read_request(sock)
        second = read_request(sock)
        assert first is not None and second is not None
        answer(sock, second[1], error_pb2.Error(message="the server is shutting down").SerializeToString(), status=14)
        time.sleep(0.2)
        answer(sock, first[1], SERVING)
        read_request(sock)  # until the client goes
        return
    _serve_health(sock)


def test_the_async_client_retires_an_unavailable_connection_and_lets_its_calls_finish() -> None:
    with FakeServer(_hello_then(_unavailable_while_an_earlier_call_is_in_flight)) as server:

        async def main() -> None:
            async with AsyncClient("127.0.0.1", server.port, "key") as c:
                in_flight = asyncio.ensure_future(c.health())
                await asyncio.sleep(0.05)
                with pytest.raises(portal_links.Unavailable, match="shutting down"):
                    await c.health()
                # New calls go to a new connection; the one in flight on the retired connection still gets its answer.
                assert await c.health() is portal_links.ServingStatus.SERVING
                assert await in_flight is portal_links.ServingStatus.SERVING

        asyncio.run(main())
        assert server.connections == 2


def test_a_drop_during_verify_many() -> None:
    def serve(sock: socket.socket, index: int) -> None:
        for _ in range(30 if index == 0 else 10**9):
            request = read_request(sock)
            if request is None:
                return
            if request[0] == 2:
                answer(sock, request[1], HELLO)
            else:
                answer(sock, request[1], links_pb2.VerifyResponse(valid=True).SerializeToString())

    with FakeServer(serve) as server:
        with Client("127.0.0.1", server.port, "key") as c:
            with pytest.raises(portal_links.Unavailable):
                c.verify_many(["t"] * 1000, depth=8)
            assert len(c.verify_many(["t"] * 100, depth=8)) == 100

    with FakeServer(serve) as server:

        async def main() -> None:
            async with AsyncClient("127.0.0.1", server.port, "key") as c:
                with pytest.raises(portal_links.Unavailable):
                    await c.verify_many(["t"] * 1000, depth=8)
                assert len(await c.verify_many(["t"] * 100, depth=8)) == 100

        asyncio.run(main())


def test_large_and_trickled_answers() -> None:
    big = bytes(range(256)) * 4096  # 1 MiB: more than the receive buffer

    def serve(sock: socket.socket, index: int) -> None:
        while True:
            request = read_request(sock)
            if request is None:
                return
            method, call_id, _, payload = request
            if method == 100:
                answer(sock, call_id, big)
            else:  # a frame one byte at a time
                frame = _wire.HEADER.pack(0x81, 0, 0, call_id, 0, len(payload)) + payload
                for i in range(len(frame)):
                    sock.sendall(frame[i:i + 1])
                    time.sleep(0.001)

    with FakeServer(serve) as server:
        with Client("127.0.0.1", server.port) as c:
            assert c.call(100) == big
            assert c.call(101, b"echo me") == b"echo me"
            assert c.call(100) == big

        async def main() -> None:
            async with AsyncClient("127.0.0.1", server.port) as c:
                results = await asyncio.gather(c.call(100), c.call(101, b"echo me"), c.call(100))
                assert results == [big, b"echo me", big]

        asyncio.run(main())


def test_error_answers_carry_message_and_reason() -> None:
    def serve(sock: socket.socket, index: int) -> None:
        while True:
            request = read_request(sock)
            if request is None:
                return
            if request[0] == 5:
                payload = error_pb2.Error(message="the link is not valid", reason="link_full").SerializeToString()
                answer(sock, request[1], payload, status=9)
            else:
                answer(sock, request[1], b"\xff\xff", status=8)  # not an Error message

    with FakeServer(serve) as server:
        with Client("127.0.0.1", server.port) as c:
            with pytest.raises(portal_links.FailedPrecondition) as raised:
                c.register("t", "a@example.com", "password-x")
            assert (raised.value.message, raised.value.reason) == ("the link is not valid", "link_full")
            with pytest.raises(portal_links.ResourceExhausted) as exhausted:
                c.sign_in("a@example.com", "password-x")
            assert "could not be decoded" in exhausted.value.message


def test_a_frame_that_is_not_a_response_is_unavailable() -> None:
    def serve(sock: socket.socket, index: int) -> None:
        request = read_request(sock)
        assert request is not None
        sock.sendall(_wire.HEADER.pack(0x01, 0, 0, request[1], 0, 0))
        read_request(sock)

    with FakeServer(serve) as server:
        with Client("127.0.0.1", server.port) as c:
            with pytest.raises(portal_links.Unavailable) as raised:
                c.health()
            assert "version" in str(raised.value)

        async def main() -> None:
            async with AsyncClient("127.0.0.1", server.port) as c:
                with pytest.raises(portal_links.Unavailable):
                    await c.health()

        asyncio.run(main())


def test_verify_many_with_answers_larger_than_the_receive_buffer() -> None:
    name = "N" * 400_000

    def serve(sock: socket.socket, index: int) -> None:
        while True:
            request = read_request(sock)
            if request is None:
                return
            answer(sock, request[1], links_pb2.VerifyResponse(valid=True, display_name=name).SerializeToString())

    with FakeServer(serve) as server:
        with Client("127.0.0.1", server.port) as c:
            results = c.verify_many(["t"] * 5, depth=3)
            assert [r.display_name for r in results] == [name] * 5
            assert c.verify("t").display_name == name

        async def main() -> None:
            async with AsyncClient("127.0.0.1", server.port) as c:
                assert [r.display_name for r in await c.verify_many(["t"] * 5, depth=3)] == [name] * 5

        asyncio.run(main())


def test_async_client_belongs_to_its_event_loop() -> None:
    def serve(sock: socket.socket, index: int) -> None:
        while True:
            request = read_request(sock)
            if request is None:
                return
            answer(sock, request[1], HELLO if request[0] == 2 else SERVING)

    with FakeServer(serve) as server:
        client = AsyncClient("127.0.0.1", server.port, "key")
        first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
        try:
            assert first.run_until_complete(client.health()) is portal_links.ServingStatus.SERVING
            with pytest.raises(RuntimeError, match="another event loop"):
                second.run_until_complete(client.health())
            first.run_until_complete(client.close())
        finally:
            first.close()
            second.close()
        assert server.connections == 1
