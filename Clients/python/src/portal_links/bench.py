"""Measures verify_many over one connection.

    python -m portal_links.bench HOST:PORT --api-key KEY --token TOKEN [--count 100000] [--depth 16] [--async]

Verifies one token ``--count`` times, keeping ``--depth`` verifies in flight, and prints one line with the
rate. Exits 1 if any verify failed or found the link invalid, 2 on a usage error. The API key may come from
the environment variable PORTAL_LINKS_API_KEY instead, which keeps it out of the process list.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
import time
from typing import List, Optional, Sequence, Tuple

from .aio import AsyncClient
from .client import Client
from .errors import PortalLinksError
from .models import Verification
from .reasons import reason_text
from .tls import tls_context


def _address(text: str) -> Tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m portal_links.bench", description="Measure verify_many of one token over one connection."
    )
    parser.add_argument("address", type=_address, metavar="HOST:PORT")
    parser.add_argument("--api-key", default=os.environ.get("PORTAL_LINKS_API_KEY"),
                        help="a caller's API key with the verify scope (default: $PORTAL_LINKS_API_KEY)")
    parser.add_argument("--token", required=True, help="the link token to verify")
    parser.add_argument("--count", type=int, default=100_000, help="verifies to make (default 100000)")
    parser.add_argument("--depth", type=int, default=16, help="verifies in flight (default 16)")
    parser.add_argument("--async", dest="use_async", action="store_true", help="use AsyncClient")
    parser.add_argument("--ca", help="PEM file of the CA that signed the server's certificate: connect with TLS")
    parser.add_argument("--cert", help="client certificate (PEM) for mutual TLS")
    parser.add_argument("--key", help="the client certificate's key (PEM)")
    parser.add_argument("--server-hostname", help="name to check the server's certificate against")
    return parser


_Run = Tuple[float, List[Verification]]


def _run_sync(host: str, port: int, args: argparse.Namespace, tls: Optional[ssl.SSLContext]) -> _Run:
    with Client(host, port, args.api_key, tls=tls, server_hostname=args.server_hostname) as client:
        tokens = [args.token] * args.count
        started = time.perf_counter()
        results = client.verify_many(tokens, depth=args.depth)
        return time.perf_counter() - started, results


async def _run_async(host: str, port: int, args: argparse.Namespace, tls: Optional[ssl.SSLContext]) -> _Run:
    async with AsyncClient(host, port, args.api_key, tls=tls, server_hostname=args.server_hostname) as client:
        tokens = [args.token] * args.count
        started = time.perf_counter()
        results = await client.verify_many(tokens, depth=args.depth)
        return time.perf_counter() - started, results


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.api_key is None:
        print("bench: an API key is needed: --api-key or PORTAL_LINKS_API_KEY", file=sys.stderr)
        return 2
    if args.count < 1 or args.depth < 1:
        print("bench: --count and --depth must be at least 1", file=sys.stderr)
        return 2
    host, port = args.address
    tls = tls_context(args.ca, args.cert, args.key) if args.ca or args.cert else None
    try:
        if args.use_async:
            elapsed, results = asyncio.run(_run_async(host, port, args, tls))
        else:
            elapsed, results = _run_sync(host, port, args, tls)
    except PortalLinksError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    invalid = [result for result in results if not result.valid]
    kind = "python asyncio verify_many" if args.use_async else "python verify_many"
    rate = len(results) / elapsed if elapsed > 0 else float("inf")
    print(f"{kind}: {len(results)} verifies in {elapsed:.3f} s: {rate:,.0f}/s (depth {args.depth}, one connection)")
    if invalid:
        print(f"bench: {len(invalid)} of {len(results)} verifies found the link invalid "
              f"({invalid[0].reason}: {reason_text(invalid[0].reason)})", file=sys.stderr)
        return 1
    if len(results) != args.count:
        print(f"bench: {args.count} verifies asked for, {len(results)} answered", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
