"""The synchronous client: one blocking socket, one call at a time, and pipelined batches of verifies."""

from __future__ import annotations

import select
import socket
import ssl
import struct
import threading
import time
from typing import Iterable, List, Optional, Sequence, Tuple

from . import _api, _wire
from ._wire import HEADER, HEADER_SIZE, Method, ProtocolViolation
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

__all__ = ["Client", "DEFAULT_DEPTH"]

#: How many verifies :meth:`Client.verify_many` keeps in flight unless told otherwise.
DEFAULT_DEPTH = 64

# An answer's header: version and flags (0x8100 for a v1 answer), status, call id, (zero), payload length.
_ANSWER = struct.Struct(">HHI4xI")
# Marks a result slot whose answer has arrived and awaits decoding.
_TAKEN = object()

_BUFFER_SIZE = 256 * 1024
_MIN_READ = 64 * 1024
_MASK = _wire.CALL_ID_MASK


def describe(error: BaseException) -> str:
    """A transport error in a few words ("connection refused"), never with data that was sent."""
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"certificate verify failed: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return error.reason.lower().replace("_", " ") if error.reason else "TLS error"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host ({error.strerror})" if error.strerror else "cannot resolve the host"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


class _Connection:
    """One connection: a socket, a receive buffer that survives between calls, and the next call id.

    Answers are matched by call id; an answer nobody waits for any more (its call timed out) is dropped when
    it arrives.
    """

    def __init__(self, sock: socket.socket, where: str) -> None:
        self.sock = sock
        self.where = where
        self.closed = False
        self.caller: Optional[Caller] = None
        self.timeout: Optional[float] = sock.gettimeout()
        self.next_id = 1
        self.buf = bytearray(_BUFFER_SIZE)
        self.view = memoryview(self.buf)
        self.start = 0  # first unread byte
        self.end = 0  # one past the last received byte
        self.poller: Optional["select.poll"] = None
        if hasattr(select, "poll"):
            self.poller = select.poll()
            self.poller.register(sock, select.POLLIN)

    # --- plumbing ---------------------------------------------------------------------------------------

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def lost(self, why: str, cause: Optional[BaseException] = None) -> Unavailable:
        """Closes the connection and returns the error for the calls that were on it."""
        self.close()
        error = Unavailable(f"connection to {self.where} lost: {why}")
        error.__cause__ = cause
        return error

    def set_timeout(self, timeout: Optional[float]) -> None:
        if timeout != self.timeout:
            self.sock.settimeout(timeout)
            self.timeout = timeout

    def take_ids(self, count: int) -> int:
        first = self.next_id
        self.next_id = (first + count) & _MASK
        return first

    def send(self, data: bytes, timeout: Optional[float]) -> None:
        self.set_timeout(timeout)
        try:
            self.sock.sendall(data)
        except (socket.timeout, TimeoutError) as e:
            # Part of a frame may have gone out: the stream cannot be trusted any more.
            self.close()
            raise DeadlineExceeded(f"could not send to {self.where} within {timeout:g} s") from e
        except OSError as e:
            raise self.lost(describe(e), e) from e

    def fill(self, need: int, timeout: Optional[float]) -> None:
        """Receives at least one more byte; ``need`` is how many bytes the frame at ``start`` needs."""
        if self.start == self.end:
            self.start = self.end = 0
        elif len(self.buf) - self.end < _MIN_READ or self.start + need > len(self.buf):
            size = self.end - self.start
            if need > len(self.buf):
                grown = bytearray(max(need, 2 * len(self.buf)))
                grown[:size] = self.view[self.start : self.end]
                self.view.release()
                self.buf, self.view = grown, memoryview(grown)
            else:
                self.buf[:size] = bytes(self.view[self.start : self.end])  # the ranges may overlap
            self.start, self.end = 0, size
        if self.end == len(self.buf):  # full of one frame's beginning
            grown = bytearray(2 * len(self.buf))
            grown[: self.end] = self.view[: self.end]
            self.view.release()
            self.buf, self.view = grown, memoryview(grown)
        self.set_timeout(timeout)
        try:
            n = self.sock.recv_into(self.view[self.end :])
        except (socket.timeout, TimeoutError):
            raise DeadlineExceeded(f"no answer from {self.where} in time") from None
        except OSError as e:
            raise self.lost(describe(e), e) from e
        if n == 0:
            raise self.lost("the server closed the connection")
        self.end += n

    def frame(self, deadline: Optional[float], timeout: Optional[float]) -> Tuple[int, int, bytes]:
        """The next answer (status, call id, payload), by ``deadline`` (``timeout`` from the request)."""
        first = True
        while True:
            available = self.end - self.start
            if available >= HEADER_SIZE:
                version, flags, status, call_id, _, length = HEADER.unpack_from(self.buf, self.start)
                try:
                    _wire.check_response_header(version, flags, length)
                except ProtocolViolation as e:
                    raise self.lost(str(e)) from None
                stop = self.start + HEADER_SIZE + length
                if stop <= self.end:
                    payload = bytes(self.view[self.start + HEADER_SIZE : stop])
                    self.start = stop
                    return status, call_id, payload
                need = HEADER_SIZE + length
            else:
                need = HEADER_SIZE
            remaining = timeout
            if deadline is not None and not first:
                # Only the waits after the first need the exact remainder (changing the socket's timeout
                # costs system calls).
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceeded(f"no answer from {self.where} in time")
            self.fill(need, remaining)
            first = False

    def alive(self) -> bool:
        """Whether the connection still stands, without blocking: false once the server has closed it (say
        for being idle). Reads whatever has arrived (late answers, TLS housekeeping) into the buffer."""
        if self.closed:
            return False
        try:
            if self.poller is not None:
                readable = bool(self.poller.poll(0))
            else:  # pragma: no cover - platforms without poll()
                readable = bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            self.close()
            return False
        if not readable:
            return True
        if self.end == self.start:
            self.start = self.end = 0
        if len(self.buf) - self.end < _MIN_READ:
            size = self.end - self.start
            self.buf[:size] = bytes(self.view[self.start : self.end])
            self.start, self.end = 0, size
        if self.end == len(self.buf):
            return True  # a large answer half received: the next call reads the rest
        previous = self.timeout
        self.set_timeout(0.0)
        try:
            n = self.sock.recv_into(self.view[self.end :])
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError, socket.timeout, TimeoutError):
            n = -1  # only TLS records with no data in them
        except OSError:
            self.close()
            return False
        finally:
            if not self.closed:
                self.set_timeout(previous)
        if n == 0:
            self.close()
            return False
        if n > 0:
            self.end += n
        return True

    # --- calls ------------------------------------------------------------------------------------------

    def call(self, method: int, payload: bytes, timeout: Optional[float]) -> Tuple[int, bytes]:
        call_id = self.take_ids(1)
        deadline = None if timeout is None else time.monotonic() + timeout
        self.send(_wire.request(method, call_id, _wire.deadline_ms(timeout), payload), timeout)
        try:
            while True:
                status, answered, body = self.frame(deadline, timeout)
                if answered == call_id:
                    return status, body
                # An answer to a call that timed out earlier: nobody waits for it.
        except DeadlineExceeded:
            raise DeadlineExceeded(f"no answer from {self.where} within {timeout:g} s") from None

    def verify_many(self, tokens: Iterable[str], depth: int, timeout: Optional[float]) -> List[Verification]:
        # The hot loop. Requests go out a window at a time. When answers arrive, their headers are read
        # first and the window is topped up at once, so that the server works on the next requests while
        # this side decodes the answers it has (with the protobuf runtime, straight out of the buffer).
        unpack_from = _ANSWER.unpack_from
        make = _api.verification
        deadline = _wire.deadline_ms(timeout)
        verify_frames = _wire.verify_frames
        taken = _TAKEN
        base = self.next_id
        results: List[object] = []
        extend = results.extend
        tokens = iter(tokens)
        sent = received = 0
        need = HEADER_SIZE  # bytes the frame at the start of the buffer needs
        exhausted = False
        try:
            while True:
                room = depth - (sent - received)
                if room > 0 and not exhausted:
                    data, count = verify_frames(tokens, room, (base + sent) & _MASK, deadline)
                    exhausted = count < room
                    if count:
                        extend([None] * count)
                        sent += count
                        self.send(data, timeout)
                if received == sent:
                    break
                self.fill(need, timeout)
                buf = self.buf
                view = self.view
                start = self.start
                end = self.end
                need = HEADER_SIZE
                ready: List[Tuple[int, int, int]] = []
                while end - start >= HEADER_SIZE:
                    version_flags, status, answered, length = unpack_from(buf, start)
                    if version_flags != 0x8100 or length > _wire.MAX_RESPONSE_PAYLOAD:
                        self.start = start
                        try:
                            _wire.check_response_header(version_flags >> 8, version_flags & 0xFF, length)
                        except ProtocolViolation as e:
                            raise self.lost(str(e)) from None
                    stop = start + HEADER_SIZE + length
                    if stop > end:
                        need = HEADER_SIZE + length
                        break
                    index = (answered - base) & _MASK
                    if index < sent and results[index] is None:  # else: a late answer to an earlier call
                        if status:
                            self.start = stop
                            raise _api.error(status, bytes(view[start + HEADER_SIZE : stop]))
                        results[index] = taken
                        ready.append((index, start + HEADER_SIZE, stop))
                    start = stop
                self.start = start  # the bytes stay where they are until the next fill
                received += len(ready)
                room = depth - (sent - received)
                if room > 0 and not exhausted and ready:
                    data, count = verify_frames(tokens, room, (base + sent) & _MASK, deadline)
                    exhausted = count < room
                    if count:
                        extend([None] * count)
                        sent += count
                        self.send(data, timeout)
                for index, first, stop in ready:
                    results[index] = make(view[first:stop])
        finally:
            self.next_id = (base + sent) & _MASK
        return results  # type: ignore[return-value]  # every slot holds a Verification once received == sent


def open_connection(
    host: str,
    port: int,
    api_key: Optional[str],
    tls: Optional[ssl.SSLContext],
    server_hostname: Optional[str],
    connect_timeout: Optional[float],
) -> _Connection:
    """Connects, completes the TLS handshake and says Hello, all within ``connect_timeout``."""
    where = f"{host}:{port}"
    deadline = None if connect_timeout is None else time.monotonic() + connect_timeout

    def remaining() -> Optional[float]:
        return None if deadline is None else max(deadline - time.monotonic(), 0.001)

    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
    except OSError as e:
        raise Unavailable(f"cannot connect to {where}: {describe(e)}") from e
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            sock.settimeout(remaining())
            sock = tls.wrap_socket(sock, server_hostname=server_hostname or host)
    except OSError as e:
        sock.close()
        raise Unavailable(f"cannot connect to {where}: {describe(e)}") from e
    connection = _Connection(sock, where)
    if api_key is not None:
        try:
            status, payload = connection.call(Method.AUTH_HELLO, _api.hello_request(api_key), remaining())
            connection.caller = _api.hello_answer(status, payload)
        except DeadlineExceeded:
            connection.close()
            raise Unavailable(f"cannot connect to {where}: no answer to Hello in time") from None
        except BaseException:
            connection.close()
            raise
    return connection


class Client:
    """A blocking client for front-end servers.

    It opens one connection (TCP, or TLS with ``tls``) and authenticates it with ``api_key``. Calls are made
    one at a time (the client is safe to share between threads: they take turns), except
    :meth:`verify_many`, which keeps many verifies in flight. When the connection drops, the call that was
    on it raises :class:`~portal_links.Unavailable` and the next call connects again (and says Hello again).

    Args:
        host, port: the server's address.
        api_key: a key from ``portal-links callers add``; ``None`` to skip the Hello (only
            :meth:`health` works then).
        tls: TLS settings, for instance from :func:`portal_links.tls_context`; ``None`` for plain TCP.
        server_hostname: the name to check the server's certificate against; ``host`` by default.
        connect_timeout: seconds for connecting, the TLS handshake and the Hello together.
        timeout: seconds to wait for each answer, also sent to the server as the call's deadline (a call
            whose deadline passes before its work begins is refused and nothing is done); ``None`` for no
            limit.
        connect: connect now (the default), so that a wrong address or key fails here; with ``False``, the
            first call connects.

    Raises:
        Unavailable: the server cannot be reached (or the TLS handshake failed).
        Unauthenticated: the API key is wrong or revoked.
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
        connect: bool = True,
    ) -> None:
        self.host = host
        self.port = int(port)
        self._api_key = api_key
        self.tls = tls
        self.server_hostname = server_hostname
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._lock = threading.Lock()
        self._connection: Optional[_Connection] = None
        self._closed = False
        if connect:
            self.connect()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self._connection is not None else "not connected"
        scheme = "tls" if self.tls is not None else "tcp"
        return f"<portal_links.Client {scheme}://{self.host}:{self.port} {state}>"

    # --- connection ---------------------------------------------------------------------------------------

    def connect(self) -> None:
        """Connects now if not connected (calls connect on their own; this surfaces errors early)."""
        with self._lock:
            self._ensure()

    @property
    def caller(self) -> Optional[Caller]:
        """Who the API key stands for and its scopes, from the current connection's Hello; ``None`` before
        connecting or without an API key."""
        connection = self._connection
        return connection.caller if connection is not None else None

    def close(self) -> None:
        """Closes the connection. Calls made afterwards raise :class:`~portal_links.Unavailable`."""
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ensure(self) -> _Connection:
        """The connection, opened again if it dropped. Call with the lock held."""
        if self._closed:
            raise Unavailable("the client is closed")
        connection = self._connection
        if connection is not None:
            if connection.alive():
                return connection
            connection.close()
            self._connection = None
        connection = open_connection(
            self.host, self.port, self._api_key, self.tls, self.server_hostname, self.connect_timeout
        )
        self._connection = connection
        return connection

    def _invoke(self, method: int, payload: bytes) -> Tuple[int, bytes]:
        with self._lock:
            connection = self._ensure()
            try:
                status, body = connection.call(method, payload, self.timeout)
                if status == StatusCode.UNAVAILABLE:
                    # A node shutting down answers UNAVAILABLE until it closes: the next call connects afresh
                    # (through a balancer, to another node) rather than fail on this connection again.
                    connection.close()
                return status, body
            finally:
                if connection.closed:
                    self._connection = None

    # --- calls ----------------------------------------------------------------------------------------------

    def call(self, method_id: int, payload: bytes = b"") -> bytes:
        """Calls a method by its id with a serialized request, for methods this library does not wrap yet.

        Returns the serialized answer; a status other than OK raises its
        :class:`~portal_links.PortalLinksError` subclass (an unknown method is
        :class:`~portal_links.Unimplemented`, and the connection stays usable).
        """
        _wire.check_method(method_id)
        return _api.ok_payload(*self._invoke(method_id, bytes(payload)))

    def health(self, service: str = "") -> ServingStatus:
        """Whether the server takes calls: ``SERVING``, or ``NOT_SERVING`` while it drains before shutdown.
        ``service`` empty (or ``"portal_links.v1"``) asks about the whole server; another name is
        :class:`~portal_links.NotFound`. Needs no API key."""
        return _api.health_answer(*self._invoke(Method.HEALTH_CHECK, _api.health_request(service)))

    def verify(self, token: str) -> Verification:
        """Checks a link's token (the token alone, not the link's URL). An invalid link is an answer, not an
        error: ``valid`` is false and ``reason`` says why. Needs the ``verify`` scope."""
        return _api.verify_answer(*self._invoke(Method.LINKS_VERIFY, _api.verify_request(token)))

    def verify_many(self, tokens: Iterable[str], *, depth: int = DEFAULT_DEPTH) -> List[Verification]:
        """Checks many tokens on the one connection, keeping up to ``depth`` of them in flight.

        Returns one :class:`Verification` per token, in the order of ``tokens``. An error status for any of
        them (say :class:`~portal_links.PermissionDenied`) or a lost connection raises, and the batch's
        results are lost; verifying has no side effects, so the batch can simply be sent again.
        """
        if depth < 1:
            raise ValueError("depth must be at least 1")
        with self._lock:
            connection = self._ensure()
            try:
                return connection.verify_many(tokens, depth, self.timeout)
            except Unavailable:
                connection.close()  # as in _invoke; after a lost connection this does nothing
                raise
            finally:
                if connection.closed:
                    self._connection = None

    def issue(
        self,
        client_id: str,
        *,
        display_name: str = "",
        expires_at: int = 0,
        sent_to: Sequence[str] = (),
        base_url: str = "",
        max_accounts: int = 0,
    ) -> IssuedLink:
        """Issues a link for a client company. Needs the ``issue`` scope.

        Args:
            client_id: a UUID or a short text ID (1-64 bytes, no spaces).
            display_name: the company's name as the link shows it (1-64 bytes); optional.
            expires_at: Unix seconds; 0 for the server's default lifetime (90 days unless configured).
            sent_to: the addresses the link is sent to, kept in the server's ledger.
            base_url: the portal address the token is appended to as ``?token=``; ``""`` for the server's.
            max_accounts: how many accounts may register through the link (1 for a personal invitation);
                0 for no cap.
        """
        payload = _api.issue_request(client_id, display_name, expires_at, sent_to, base_url, max_accounts)
        return _api.issue_answer(*self._invoke(Method.LINKS_ISSUE, payload))

    def register(self, token: str, email: str, password: str, display_name: str = "") -> Account:
        """Signs someone up through a link; the account belongs to the link's client company.

        Raises:
            FailedPrecondition: the link is invalid (``reason`` as :meth:`verify` gives it) or full
                (``"link_full"``); nothing was created.
            AlreadyExists: the email has an account.
            InvalidArgument: a malformed email, a name over 200 characters, or a password that is too short,
                too long or too common (the message says which).
        """
        payload = _api.register_request(token, email, password, display_name)
        return _api.register_answer(*self._invoke(Method.ACCOUNTS_REGISTER, payload))

    def sign_in(self, email: str, password: str) -> SignedIn:
        """A session for an email and password. Every refusal (unknown email, wrong password, locked or
        disabled account) is the same :class:`~portal_links.Unauthenticated`."""
        payload = _api.sign_in_request(email, password)
        return _api.sign_in_answer(*self._invoke(Method.ACCOUNTS_SIGN_IN, payload))

    def verify_session(self, token: str) -> SessionVerification:
        """Checks a session token; a session that does not hold is an answer with ``valid`` false and its
        ``reason`` (``"expired"``, ``"ended"``, ...)."""
        payload = _api.session_verify_request(token)
        return _api.session_verify_answer(*self._invoke(Method.SESSIONS_VERIFY, payload))

    def refresh_session(self, token: str) -> Session:
        """A fresh token for the same session with a new idle deadline (never past the absolute limit).
        A session that does not hold is :class:`~portal_links.Unauthenticated`."""
        payload = _api.refresh_request(token)
        return _api.refresh_answer(*self._invoke(Method.SESSIONS_REFRESH, payload))

    def sign_out(self, token: str) -> None:
        """Ends the session on every server (within a second). Signing out an ended session is fine too."""
        payload = _api.sign_out_request(token)
        _api.empty_answer(*self._invoke(Method.SESSIONS_SIGN_OUT, payload))

    def request_password_reset(self, email: str) -> PasswordReset:
        """A reset token to email to the account's owner. The answer is the same for an unknown email,
        with an empty token, so that it tells nothing to others."""
        payload = _api.password_reset_request(email)
        return _api.password_reset_answer(*self._invoke(Method.ACCOUNTS_REQUEST_PASSWORD_RESET, payload))

    def reset_password(self, reset_token: str, new_password: str) -> None:
        """Sets a new password with a reset token (once), ends every session of the account and clears a
        lockout. A used, expired or forged token is :class:`~portal_links.Unauthenticated`; a weak password
        is :class:`~portal_links.InvalidArgument` and leaves the token usable."""
        payload = _api.reset_password_request(reset_token, new_password)
        _api.empty_answer(*self._invoke(Method.ACCOUNTS_RESET_PASSWORD, payload))
