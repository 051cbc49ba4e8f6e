"""Helpers shared by the tests: random accounts, comparing a case with a Verification, a scriptable server."""

from __future__ import annotations

import asyncio
import secrets
import socket
import struct
import threading
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

HEADER = struct.Struct(">BBHIII")


def random_email() -> str:
    return f"user-{secrets.token_hex(6)}@example.com"


def random_password() -> str:
    return "pw-" + secrets.token_urlsafe(12)


def check_case(case: Dict[str, Any], result: Any) -> List[str]:
    """What differs between a manifest case and a Verification (empty when they agree)."""
    problems = []
    if result.valid != case["valid"]:
        problems.append(f"valid {result.valid}, expected {case['valid']}")
    expected_reason = case.get("reason") or ""
    if result.reason != expected_reason:
        problems.append(f"reason {result.reason!r}, expected {expected_reason!r}")
    for field in ("client_id", "display_name", "expires_at", "issued_at", "key_id", "link_id"):
        if field in case and getattr(result, field) != case[field]:
            problems.append(f"{field} {getattr(result, field)!r}, expected {case[field]!r}")
    return [f"{case['name']}: {problem}" for problem in problems]


def eventually(probe: Callable[[], Any], accept: Callable[[Any], bool], timeout: float = 5.0) -> Any:
    """Calls ``probe`` until ``accept`` takes its result (or ``timeout`` passes) and returns the last result:
    for changes the server promises to apply within a second (sign-out, password reset)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if accept(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


async def eventually_async(probe: Callable[[], Awaitable[Any]], accept: Callable[[Any], bool],
                           timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if accept(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.05)


def read_exactly(sock: socket.socket, size: int) -> Optional[bytes]:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_request(sock: socket.socket) -> Optional[Tuple[int, int, int, bytes]]:
    """(method, call id, deadline ms, payload), or None at end of stream."""
    header = read_exactly(sock, HEADER.size)
    if header is None:
        return None
    version, flags, method, call_id, deadline, length = HEADER.unpack(header)
    assert (version, flags) == (1, 0), (version, flags)
    payload = read_exactly(sock, length) if length else b""
    if payload is None:
        return None
    return method, call_id, deadline, payload


def answer(sock: socket.socket, call_id: int, payload: bytes = b"", status: int = 0) -> None:
    sock.sendall(HEADER.pack(0x81, 0, status, call_id, 0, len(payload)) + payload)


class FakeServer:
    """A loopback server that runs ``handler(connection, index)`` in a thread for each connection it accepts
    (index counts from 0), to produce behaviour a real server does not show on demand."""

    def __init__(self, handler: Callable[[socket.socket, int], None]) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.errors: List[BaseException] = []
        self._sockets: List[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            index = self.connections
            self.connections += 1
            self._sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock, index), daemon=True).start()

    def _serve(self, sock: socket.socket, index: int) -> None:
        try:
            self.handler(sock, index)
        except OSError:
            pass
        except BaseException as e:  # reported by the test through .errors
            self.errors.append(e)
        finally:
            sock.close()

    def close(self) -> None:
        self.listener.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> "FakeServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
