"""TLS settings for connecting to a server that serves TLS, or mutual TLS."""

from __future__ import annotations

import os
import ssl
from typing import Optional, Union

__all__ = ["tls_context"]

_Path = Union[str, "os.PathLike[str]"]


def tls_context(
    ca: Optional[_Path] = None,
    cert: Optional[_Path] = None,
    key: Optional[_Path] = None,
    *,
    key_password: Optional[str] = None,
) -> ssl.SSLContext:
    """An :class:`ssl.SSLContext` for ``Client(..., tls=...)``: the server's certificate is checked, and so
    is its name (``server_hostname``, or the host connected to).

    Args:
        ca: PEM file of the certificate authority that signed the server's certificate; ``None`` to trust
            the system's authorities.
        cert: PEM file of this client's certificate (chain), for a server that requires mutual TLS.
        key: PEM file of that certificate's private key; ``None`` when it is in ``cert``.
        key_password: the key's password, if it is encrypted.
    """
    if key is not None and cert is None:
        raise ValueError("a client key needs its certificate (cert)")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=os.fspath(ca) if ca is not None else None)
    # What the server speaks: TLS 1.2 or 1.3, and in TLS 1.2 only ECDHE key exchange with AEAD ciphers.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")
    if cert is not None:
        context.load_cert_chain(os.fspath(cert), os.fspath(key) if key is not None else None, password=key_password)
    return context
