"""Frames of wire protocol v1 (docs/protocol.md): a 16-byte big-endian header and a protobuf payload."""

from __future__ import annotations

import enum
import math
import struct
from itertools import islice
from typing import Iterator, List, Optional, Tuple

__all__ = ["Method"]

#: version, flags, method id or status, call id, deadline (ms) or 0, payload length.
HEADER = struct.Struct(">BBHIII")
HEADER_SIZE = HEADER.size  # 16
REQUEST_VERSION = 0x01
RESPONSE_VERSION = 0x81
CALL_ID_MASK = 0xFFFFFFFF
MAX_DEADLINE_MS = 0xFFFFFFFF

#: Answers are small; a length beyond this means the stream is not what this client expects.
MAX_RESPONSE_PAYLOAD = 16 * 1024 * 1024


class Method(enum.IntEnum):
    """Method ids, the request header's bytes 2-3 (``Method`` in ``wire.proto``)."""

    HEALTH_CHECK = 1
    AUTH_HELLO = 2
    LINKS_VERIFY = 3
    LINKS_ISSUE = 4
    ACCOUNTS_REGISTER = 5
    ACCOUNTS_SIGN_IN = 6
    SESSIONS_VERIFY = 7
    SESSIONS_REFRESH = 8
    SESSIONS_SIGN_OUT = 9
    ACCOUNTS_REQUEST_PASSWORD_RESET = 10
    ACCOUNTS_RESET_PASSWORD = 11


class ProtocolViolation(Exception):
    """The server sent bytes that are not a v1 response frame (internal: becomes Unavailable)."""


def deadline_ms(timeout: Optional[float]) -> int:
    """The header's deadline for a timeout in seconds: 0 (none) for ``None``, at least 1 ms otherwise."""
    if timeout is None:
        return 0
    return min(max(1, math.ceil(timeout * 1000)), MAX_DEADLINE_MS)


def request(method: int, call_id: int, deadline: int, payload: bytes) -> bytes:
    """One request frame."""
    return HEADER.pack(REQUEST_VERSION, 0, method, call_id, deadline, len(payload)) + payload


def check_method(method: int) -> None:
    if not 0 <= method <= 0xFFFF:
        raise ValueError(f"method id {method} does not fit in 16 bits")


def check_response_header(version: int, flags: int, length: int) -> None:
    if version != RESPONSE_VERSION or flags != 0:
        raise ProtocolViolation(f"the server sent a frame with version 0x{version:02x} and flags {flags}")
    if length > MAX_RESPONSE_PAYLOAD:
        raise ProtocolViolation(f"the server sent a {length}-byte answer, more than this client accepts")


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# VerifyRequest is one string field (number 1, wire type 2): tag 0x0a, varint length, UTF-8. Prefixes for
# lengths up to the longest a well-formed token can have and some; longer ones are computed.
_VERIFY_PREFIXES: List[bytes] = [b"\x0a" + _varint(n) for n in range(1024)]


def verify_prefix(length: int) -> bytes:
    """The bytes before a token's UTF-8 in a serialized ``VerifyRequest``."""
    if length < 1024:
        return _VERIFY_PREFIXES[length]
    return b"\x0a" + _varint(length)


def verify_payload(token: str) -> bytes:
    """A serialized ``VerifyRequest`` (byte for byte what the protobuf runtime writes)."""
    data = token.encode("utf-8")
    if not data:
        return b""
    return verify_prefix(len(data)) + data


# A Links.Verify request's header followed by the VerifyRequest's tag and a one- or two-byte length.
_VERIFY_SHORT = struct.Struct(">BBHIIIBB")
_VERIFY_LONG = struct.Struct(">BBHIIIBBB")


def verify_frames(tokens: Iterator[str], count: int, first_id: int, deadline: int) -> Tuple[bytes, int]:
    """Up to ``count`` Links.Verify request frames for the next tokens, with call ids from ``first_id`` on,
    in one buffer; and how many frames it holds.

    The hot path of ``verify_many``: no message objects. A frame is the header, the tag 0x0a, the token's
    length as a varint and its UTF-8, byte for byte what the protobuf runtime would write.
    """
    short = _VERIFY_SHORT.pack
    long = _VERIFY_LONG.pack
    method = int(Method.LINKS_VERIFY)
    chunks: List[bytes] = []
    add = chunks.append
    call_id = first_id
    n = 0
    token: object = None
    try:
        for token in islice(tokens, count):
            data = token.encode()
            size = len(data)
            if 0 < size < 0x80:
                add(short(REQUEST_VERSION, 0, method, call_id, deadline, size + 2, 0x0A, size))
            elif size == 0:  # proto3 leaves an empty string out: an empty payload
                add(HEADER.pack(REQUEST_VERSION, 0, method, call_id, deadline, 0))
            elif size < 0x4000:
                varint = ((size & 0x7F) | 0x80, size >> 7)
                add(long(REQUEST_VERSION, 0, method, call_id, deadline, size + 3, 0x0A, *varint))
            else:
                prefix = verify_prefix(size)
                add(HEADER.pack(REQUEST_VERSION, 0, method, call_id, deadline, len(prefix) + size) + prefix)
            add(data)
            call_id = (call_id + 1) & CALL_ID_MASK
            n += 1
    except AttributeError:
        raise TypeError(f"tokens must be str, not {type(token).__name__}") from None
    except UnicodeEncodeError:
        raise ValueError("a token is not valid Unicode text") from None
    return b"".join(chunks), n
