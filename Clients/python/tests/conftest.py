"""Fixtures: a conformance server (`portal-links conformance-server`) and what its manifest says.

Set PORTAL_LINKS_CONFORMANCE to the manifest of a server that is already running (started with --tls-dir,
for the TLS tests); otherwise the session starts one from PORTAL_LINKS_BIN (default: the repository's
.build/debug/portal-links), with test certificates made by openssl, and stops it at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # Clients/python
REPO = PACKAGE_ROOT.parent.parent
DEFAULT_BINARY = PACKAGE_ROOT / ".." / ".." / ".build" / "debug" / "portal-links"
VECTORS = REPO / "Protos" / "testdata" / "golden_tokens.json"
STARTUP_TIMEOUT = 30.0


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certificates(directory: Path) -> None:
    """A CA, and a server and a client certificate it signed, for CN localhost / 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates (or set PORTAL_LINKS_CONFORMANCE)")
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *curve, "-days", "2", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.pem",
             cwd=directory)
    for name in ("server", "client"):
        _openssl("req", *curve, "-subj", "/CN=localhost", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 cwd=directory)
        (directory / f"{name}.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=directory)


def _start_server(binary: Path, directory: Path) -> "Tuple[subprocess.Popen[bytes], Path]":
    manifest = directory / "manifest.json"
    log = directory / "server.log"
    last_error = ""
    for attempt in range(3):
        if manifest.exists():
            manifest.unlink()
        with open(log, "wb") as stderr:
            process = subprocess.Popen(
                [str(binary), "conformance-server", "--manifest", str(manifest), "--tls-dir", str(directory),
                 "--vectors", str(VECTORS)],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if manifest.exists():
                return process, manifest
            if process.poll() is not None:
                break
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()
            pytest.fail(f"the conformance server wrote no manifest within {STARTUP_TIMEOUT:g} s; its log: {log}")
        last_error = log.read_text(errors="replace").strip()
        # The binary may be being replaced by a rebuild: try again in a moment.
        time.sleep(3)
    pytest.fail(f"the conformance server {binary} did not start: {last_error}")


@pytest.fixture(scope="session")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    given = os.environ.get("PORTAL_LINKS_CONFORMANCE")
    if given:
        path = Path(given)
        if not path.is_file():
            pytest.fail(f"PORTAL_LINKS_CONFORMANCE={given}: no such manifest")
        yield json.loads(path.read_text())
        return
    binary = Path(os.environ.get("PORTAL_LINKS_BIN", str(DEFAULT_BINARY))).resolve()
    if not binary.is_file():
        pytest.fail(
            f"no conformance server: {binary} does not exist. Build it (swift build), point PORTAL_LINKS_BIN at "
            "a portal-links binary, or set PORTAL_LINKS_CONFORMANCE to the manifest of a running "
            "`portal-links conformance-server --manifest FILE --tls-dir DIR`."
        )
    directory = tmp_path_factory.mktemp("conformance")
    make_certificates(directory)
    process, path = _start_server(binary, directory)
    try:
        yield json.loads(path.read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def main_port(manifest: Dict[str, Any]) -> int:
    return int(manifest["main"]["port"])


@pytest.fixture(scope="session")
def api_key(manifest: Dict[str, Any]) -> str:
    return str(manifest["api_keys"]["all"])


@pytest.fixture(scope="session")
def verify_only_key(manifest: Dict[str, Any]) -> str:
    return str(manifest["api_keys"]["verify_only"])


@pytest.fixture(scope="session")
def registration_token(manifest: Dict[str, Any]) -> str:
    return str(manifest["registration_link"]["token"])


@pytest.fixture(scope="session")
def main_cases(manifest: Dict[str, Any]) -> List[Dict[str, Any]]:
    cases = [case for case in manifest["cases"] if case["at"] == manifest["main"]["at"]]
    assert any(case["valid"] for case in cases) and any(not case["valid"] for case in cases)
    return cases


@pytest.fixture(scope="session")
def tls_files(manifest: Dict[str, Any]) -> Dict[str, str]:
    if not manifest.get("tls") or "tls_port" not in manifest["main"] or "mtls_port" not in manifest["main"]:
        pytest.fail("the conformance server has no TLS ports: start it with --tls-dir")
    return dict(manifest["tls"])
