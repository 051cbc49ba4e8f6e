"""The asyncio client: one connection carrying any number of concurrent calls."""

from __future__ import annotations

import asyncio
import ssl
import time
from itertools import repeat
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union

from . import _api, _wire
from ._wire import HEADER, HEADER_SIZE, Method, ProtocolViolation
from .client import DEFAULT_DEPTH, describe
from .errors import DeadlineExceeded, StatusCode, Unavailable
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

__all__ = ["AsyncClient"]

_MASK = _wire.CALL_ID_MASK
_Answer = Tuple[int, bytes]
T = TypeVar("T")


def _expire(future: "asyncio.Future[Any]", where: str, timeout: float) -> None:
    if not future.done():
        future.set_exception(DeadlineExceeded(f"no answer from {where} within {timeout:g} s"))


class _Batch:
    """The receiving end of a verify_many. Its calls are in the protocol's ``pending`` as (batch, position
    in the results); the protocol appends their answers to ``arrived`` and wakes the batch's task once per
    arrival of data rather than once per call."""

    __slots__ = ("loop", "arrived", "waiter", "error", "finished")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.arrived: List[Tuple[int, int, bytes]] = []  # (position, status, payload)
        self.waiter: Optional["asyncio.Future[None]"] = None
        self.error: Optional[Unavailable] = None
        self.finished = False

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def fail(self, error: Unavailable) -> None:
        if self.error is None:
            self.error = error
            self.wake()

    async def take(self, where: str, timeout: Optional[float]) -> List[Tuple[int, int, bytes]]:
        """The answers that have arrived since the last take, waiting for at least one."""
        if not self.arrived and self.error is None:
            waiter: "asyncio.Future[None]" = self.loop.create_future()
            self.waiter = waiter
            timer = None
            if timeout is not None:
                timer = self.loop.call_later(timeout, _expire, waiter, where, timeout)
            try:
                await waiter
            finally:
                self.waiter = None
                if timer is not None:
                    timer.cancel()
        if self.error is not None:
            raise Unavailable(self.error.message)
        arrived, self.arrived = self.arrived, []
        return arrived


class _Protocol(asyncio.Protocol):
    """One connection: frames out, frames in, and each answer handed by its call id to the future of its
    call, or to the verify_many batch the call belongs to."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.loop = asyncio.get_running_loop()
        self.transport: Optional[asyncio.Transport] = None
        # What waits for each call id: a single call's future, or (batch, position) for a verify_many's.
        self.pending: Dict[int, Union["asyncio.Future[_Answer]", Tuple[_Batch, int]]] = {}
        self.next_id = 1
        self.buffer = bytearray()  # the start of a frame still arriving
        self.needed = HEADER_SIZE  # bytes that frame needs in all
        self.outbox: List[bytes] = []
        self.flush_scheduled = False
        self.paused = False
        self.drain_waiters: List["asyncio.Future[None]"] = []
        self.error: Optional[Unavailable] = None
        self.closed: "asyncio.Future[None]" = self.loop.create_future()
        self.caller: Optional[Caller] = None

    # --- asyncio.Protocol ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.buffer:
            self.buffer += data
            if len(self.buffer) < self.needed:
                return
            data = bytes(self.buffer)
            self.buffer.clear()
        pending = self.pending
        unpack_from = HEADER.unpack_from
        woken: Optional[_Batch] = None
        size = len(data)
        start = 0
        while size - start >= HEADER_SIZE:
            version, flags, status, call_id, _, length = unpack_from(data, start)
            if version != 0x81 or flags or length > _wire.MAX_RESPONSE_PAYLOAD:
                try:
                    _wire.check_response_header(version, flags, length)
                except ProtocolViolation as e:
                    self.fail(Unavailable(f"connection to {self.where} lost: {e}"))
                    if self.transport is not None:
                        self.transport.abort()
                    return
            stop = start + HEADER_SIZE + length
            if stop > size:
                break
            waiting = pending.pop(call_id, None)
            if waiting is not None:
                if waiting.__class__ is tuple:
                    batch, position = waiting
                    if not batch.finished:
                        batch.arrived.append((position, status, data[start + HEADER_SIZE : stop]))
                        if batch is not woken:
                            if woken is not None:
                                woken.wake()
                            woken = batch
                elif not waiting.done():  # type: ignore[union-attr]
                    waiting.set_result((status, data[start + HEADER_SIZE : stop]))  # type: ignore[union-attr]
            start = stop
        if woken is not None:
            woken.wake()
        if start < size:
            self.buffer += data[start:]
            if size - start >= HEADER_SIZE:
                self.needed = HEADER_SIZE + HEADER.unpack_from(data, start)[5]
            else:
                self.needed = HEADER_SIZE

    def eof_received(self) -> Optional[bool]:
        return None  # close our side too

    def connection_lost(self, exc: Optional[Exception]) -> None:
        why = describe(exc) if exc is not None else "the connection closed"
        self.fail(Unavailable(f"connection to {self.where} lost: {why}"))
        self.resume_writing()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        waiters, self.drain_waiters = self.drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- calls ----------------------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        return self.error is None and self.transport is not None and not self.transport.is_closing()

    def fail(self, error: Unavailable) -> None:
        """Fails every call in flight; later calls on this connection fail at once."""
        if self.error is None:
            self.error = error
        pending, self.pending = self.pending, {}
        for waiting in pending.values():
            if isinstance(waiting, tuple):
                waiting[0].fail(self.error)
            elif not waiting.done():
                waiting.set_exception(self.failure())

    def failure(self) -> Unavailable:
        """A fresh exception for one call (each raise gets its own traceback)."""
        assert self.error is not None
        return Unavailable(self.error.message)

    def take_id(self) -> int:
        call_id = self.next_id
        while call_id in self.pending:
            call_id = (call_id + 1) & _MASK
        self.next_id = (call_id + 1) & _MASK
        return call_id

    def send(self, method: int, payload: bytes, deadline: int) -> "asyncio.Future[_Answer]":
        if self.error is not None:
            raise self.failure()
        call_id = self.take_id()
        future: "asyncio.Future[_Answer]" = self.loop.create_future()
        self.pending[call_id] = future
        self.write(_wire.request(method, call_id, deadline, payload))
        return future

    def send_verifies(self, batch: _Batch, tokens: Iterator[str], count: int, deadline: int, index: int) -> int:
        """Sends Links.Verify calls for up to ``count`` of the next tokens in one write, answered to
        ``batch``, which learns that they are its results number ``index`` on; returns how many.

        Their call ids are the next ones in sequence (other calls may take the ids between two of these
        writes): an id comes round again only after 2**32 calls, and every call leaves ``pending`` when
        answered or when the connection fails.
        """
        if self.error is not None:
            raise self.failure()
        first = self.next_id
        data, n = _wire.verify_frames(tokens, count, first, deadline)
        if n:
            stop = first + n
            if stop <= _MASK + 1:
                ids: Iterable[int] = range(first, stop)
            else:
                ids = [call_id & _MASK for call_id in range(first, stop)]
            self.pending.update(zip(ids, zip(repeat(batch), range(index, index + n))))
            self.next_id = stop & _MASK
            if self.outbox:
                self.outbox.append(data)
                self.flush()
            elif self.usable:
                self.transport.write(data)  # type: ignore[union-attr]
        return n

    def write(self, data: bytes) -> None:
        # Frames written in one turn of the event loop go out in one write (and usually one packet).
        self.outbox.append(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.flush_scheduled = False
        if not self.outbox:
            return
        data = b"".join(self.outbox) if len(self.outbox) > 1 else self.outbox[0]
        self.outbox.clear()
        if self.usable:
            self.transport.write(data)  # type: ignore[union-attr]

    async def drain(self) -> None:
        if self.paused and self.error is None:
            waiter: "asyncio.Future[None]" = self.loop.create_future()
            self.drain_waiters.append(waiter)
            await waiter

    async def wait(self, future: "asyncio.Future[_Answer]", timeout: Optional[float]) -> _Answer:
        if timeout is None or future.done():
            return await future
        timer = self.loop.call_later(timeout, _expire, future, self.where, timeout)
        try:
            return await future
        finally:
            timer.cancel()

    async def call(self, method: int, payload: bytes, timeout: Optional[float]) -> _Answer:
        future = self.send(method, payload, _wire.deadline_ms(timeout))
        if self.paused:
            await self.drain()
        return await self.wait(future, timeout)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def close(self) -> None:
        self.fail(Unavailable("the client is closed"))
        if self.transport is not None:
            self.transport.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 2.0)
        except asyncio.TimeoutError:
            self.abort()


async def _open_connection(
    host: str,
    port: int,
    api_key: Optional[str],
    tls: Optional[ssl.SSLContext],
    server_hostname: Optional[str],
    connect_timeout: Optional[float],
) -> _Protocol:
    loop = asyncio.get_running_loop()
    where = f"{host}:{port}"
    deadline = None if connect_timeout is None else time.monotonic() + connect_timeout
    try:
        _, protocol = await asyncio.wait_for(
            loop.create_connection(
                lambda: _Protocol(where),
                host,
                port,
                ssl=tls,
                server_hostname=(server_hostname or host) if tls is not None else None,
            ),
            connect_timeout,
        )
    except asyncio.TimeoutError:
        raise Unavailable(f"cannot connect to {where}: timed out") from None
    except OSError as e:
        raise Unavailable(f"cannot connect to {where}: {describe(e)}") from e
    if api_key is not None:
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        try:
            status, payload = await protocol.call(Method.AUTH_HELLO, _api.hello_request(api_key), remaining)
            protocol.caller = _api.hello_answer(status, payload)
        except DeadlineExceeded:
            protocol.abort()
            raise Unavailable(f"cannot connect to {where}: no answer to Hello in time") from None
        except BaseException:
            protocol.abort()
            raise
    return protocol


class AsyncClient:
    """The asyncio counterpart of :class:`portal_links.Client`, with the same methods as coroutines.

    Concurrent calls share one connection: each request goes out at once with its own call id, and the
    answers, in whatever order the server sends them, are handed to their callers as they arrive. When the
    connection drops, the calls in flight raise :class:`~portal_links.Unavailable` and the next call
    connects again (and says Hello again).

    Use it as ``async with AsyncClient(...) as client:`` (connects on entry), or call :meth:`connect` and
    :meth:`close`; a call made before connecting connects first. The arguments are those of
    :class:`portal_links.Client`. A client belongs to the event loop it connected on: make one per loop.
    """

    def __init__(
        self,
        host: str,
        port: int,
        api_key: Optional[str] = None,
        *,
        tls: Optional[ssl.SSLContext] = None,
        server_hostname: Optional[str] = None,
        connect_timeout: Optional[float] = 5.0,
        timeout: Optional[float] = 30.0,
    ) -> None:
        self.host = host
        self.port = int(port)
        self._api_key = api_key
        self.tls = tls
        self.server_hostname = server_hostname
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._protocol: Optional[_Protocol] = None
        self._connecting: Optional["asyncio.Future[_Protocol]"] = None
        self._closed = False

    def __repr__(self) -> str:
        protocol = self._protocol
        state = (
            "closed"
            if self._closed
            else "connected"
            if protocol is not None and protocol.usable
            else "not connected"
        )
        scheme = "tls" if self.tls is not None else "tcp"
        return f"<portal_links.AsyncClient {scheme}://{self.host}:{self.port} {state}>"

    # --- connection ---------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connects now if not connected, so that a wrong address or API key fails here.

        Raises:
            Unavailable: the server cannot be reached (or the TLS handshake failed).
            Unauthenticated: the API key is wrong or revoked.
        """
        await self._ensure()

    @property
    def caller(self) -> Optional[Caller]:
        """Who the API key stands for and its scopes, from the current connection's Hello."""
        protocol = self._protocol
        return protocol.caller if protocol is not None else None

    async def close(self) -> None:
        """Closes the connection; calls in flight and calls made afterwards raise
        :class:`~portal_links.Unavailable`."""
        self._closed = True
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            await protocol.close()

    async def __aenter__(self) -> "AsyncClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _ensure(self) -> _Protocol:
        protocol = self._protocol
        loop = asyncio.get_running_loop()
        if protocol is not None and protocol.usable:
            if protocol.loop is loop:
                return protocol
            raise RuntimeError(
                "this AsyncClient is connected on another event loop; make one client per event loop "
                "(and close it on the loop it connected on)"
            )
        if self._closed:
            raise Unavailable("the client is closed")
        # Callers that find the connection down share one attempt to open it again.
        connecting = self._connecting
        if connecting is None or connecting.get_loop() is not loop:
            connecting = asyncio.ensure_future(self._reconnect())
            connecting.add_done_callback(_retrieve)
            self._connecting = connecting
        return await asyncio.shield(connecting)

    async def _reconnect(self) -> _Protocol:
        try:
            if self._protocol is not None:
                old, self._protocol = self._protocol, None
                try:
                    old.abort()
                except RuntimeError:
                    pass  # it belonged to an event loop that has been closed since
            protocol = await _open_connection(
                self.host, self.port, self._api_key, self.tls, self.server_hostname, self.connect_timeout
            )
            if self._closed:
                await protocol.close()
                raise Unavailable("the client is closed")
            self._protocol = protocol
            return protocol
        finally:
            if self._connecting is asyncio.current_task():
                self._connecting = None

    async def _invoke(self, method: int, payload: bytes, answer: Callable[[int, bytes], T]) -> T:
        protocol = await self._ensure()
        status, body = await protocol.call(method, payload, self.timeout)
        if status == StatusCode.UNAVAILABLE and self._protocol is protocol:
            # A node shutting down answers UNAVAILABLE until it closes: retire its connection for new calls (the
            # next connects afresh, through a balancer to another node) and let the calls in flight on it finish;
            # the server closes it once they have.
            self._protocol = None
        return answer(status, body)

    # --- calls ----------------------------------------------------------------------------------------------

    async def call(self, method_id: int, payload: bytes = b"") -> bytes:
        """Calls a method by its id with a serialized request; see :meth:`portal_links.Client.call`."""
        _wire.check_method(method_id)
        return await self._invoke(method_id, bytes(payload), _api.ok_payload)

    async def health(self, service: str = "") -> ServingStatus:
        """See :meth:`portal_links.Client.health`."""
        return await self._invoke(Method.HEALTH_CHECK, _api.health_request(service), _api.health_answer)

    async def verify(self, token: str) -> Verification:
        """Checks a link's token; see :meth:`portal_links.Client.verify`."""
        return await self._invoke(Method.LINKS_VERIFY, _api.verify_request(token), _api.verify_answer)

    async def verify_many(self, tokens: Iterable[str], *, depth: int = DEFAULT_DEPTH) -> List[Verification]:
        """Checks many tokens, keeping up to ``depth`` in flight; results in the order of ``tokens``. See
        :meth:`portal_links.Client.verify_many`."""
        if depth < 1:
            raise ValueError("depth must be at least 1")
        protocol = await self._ensure()
        timeout = self.timeout
        deadline = _wire.deadline_ms(timeout)
        make = _api.verification
        batch = _Batch(protocol.loop)
        results: List[Optional[Verification]] = []
        tokens = iter(tokens)
        sent = received = 0
        exhausted = False
        try:
            while True:
                room = depth - (sent - received)
                if room > 0 and not exhausted:
                    count = protocol.send_verifies(batch, tokens, room, deadline, sent)
                    exhausted = count < room
                    results.extend([None] * count)
                    sent += count
                    if protocol.paused:
                        await protocol.drain()
                if received == sent:
                    break
                arrived = await batch.take(protocol.where, timeout)
                received += len(arrived)
                # Top the window up before decoding, so that the server works while this side decodes.
                room = depth - (sent - received)
                if room > 0 and not exhausted:
                    count = protocol.send_verifies(batch, tokens, room, deadline, sent)
                    exhausted = count < room
                    results.extend([None] * count)
                    sent += count
                for position, status, payload in arrived:
                    if status:
                        raise _api.error(status, payload)
                    results[position] = make(payload)
        finally:
            batch.finished = True
        return results  # type: ignore[return-value]  # every slot holds a Verification once received == sent

    async def issue(
        self,
        client_id: str,
        *,
        display_name: str = "",
        expires_at: int = 0,
        sent_to: Sequence[str] = (),
        base_url: str = "",
        max_accounts: int = 0,
    ) -> IssuedLink:
        """Issues a link; see :meth:`portal_links.Client.issue`."""
        payload = _api.issue_request(client_id, display_name, expires_at, sent_to, base_url, max_accounts)
        return await self._invoke(Method.LINKS_ISSUE, payload, _api.issue_answer)

    async def register(self, token: str, email: str, password: str, display_name: str = "") -> Account:
        """Signs someone up through a link; see :meth:`portal_links.Client.register`."""
        payload = _api.register_request(token, email, password, display_name)
        return await self._invoke(Method.ACCOUNTS_REGISTER, payload, _api.register_answer)

    async def sign_in(self, email: str, password: str) -> SignedIn:
        """See :meth:`portal_links.Client.sign_in`."""
        payload = _api.sign_in_request(email, password)
        return await self._invoke(Method.ACCOUNTS_SIGN_IN, payload, _api.sign_in_answer)

    async def verify_session(self, token: str) -> SessionVerification:
        """See :meth:`portal_links.Client.verify_session`."""
        payload = _api.session_verify_request(token)
        return await self._invoke(Method.SESSIONS_VERIFY, payload, _api.session_verify_answer)

    async def refresh_session(self, token: str) -> Session:
        """See :meth:`portal_links.Client.refresh_session`."""
        payload = _api.refresh_request(token)
        return await self._invoke(Method.SESSIONS_REFRESH, payload, _api.refresh_answer)

    async def sign_out(self, token: str) -> None:
        """See :meth:`portal_links.Client.sign_out`."""
        payload = _api.sign_out_request(token)
        await self._invoke(Method.SESSIONS_SIGN_OUT, payload, _api.empty_answer)

    async def request_password_reset(self, email: str) -> PasswordReset:
        """See :meth:`portal_links.Client.request_password_reset`."""
        payload = _api.password_reset_request(email)
        return await self._invoke(Method.ACCOUNTS_REQUEST_PASSWORD_RESET, payload, _api.password_reset_answer)

    async def reset_password(self, reset_token: str, new_password: str) -> None:
        """See :meth:`portal_links.Client.reset_password`."""
        payload = _api.reset_password_request(reset_token, new_password)
        await self._invoke(Method.ACCOUNTS_RESET_PASSWORD, payload, _api.empty_answer)


def _retrieve(future: "asyncio.Future[Any]") -> None:
    # Marks a shared connection attempt's failure as seen even when every caller waiting for it gave up.
    if not future.cancelled():
        future.exception()
