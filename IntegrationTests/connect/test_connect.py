"""The HTTP gateway through Connect's official Python client (connect-python 0.9.0), with code generated from
Protos/ by protoc-gen-connect-python (`make protos`): every method, JSON and binary, gzipped requests (the
client's default), error codes with their details, and deadlines. Run by IntegrationTests/connect.sh against a
`portal-links serve` it starts in a throw-away home."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Iterator, Tuple

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "generated"))

from connectrpc.code import Code  # noqa: E402
from connectrpc.errors import ConnectError  # noqa: E402
from portal_links.v1 import accounts_pb2, error_pb2, health_pb2, links_pb2  # noqa: E402
from portal_links.v1.services_connect import (  # noqa: E402
    AccountsClientSync, HealthClientSync, LinksClientSync, SessionsClientSync)

BIN = os.environ["PORTAL_LINKS_BIN"]
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    def __init__(self, url: str, key: str, link: str, env: dict) -> None:
        self.url, self.key, self.link, self.env = url, key, link, env

    def staff(self, *arguments: str) -> str:
        return subprocess.run([BIN, *arguments], env=self.env, capture_output=True, text=True, check=True).stdout.strip()

    def auth(self, key: str = "") -> dict:
        return {"authorization": f"Bearer {key or self.key}"}


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    work = tempfile.mkdtemp(prefix="portal-links-connect-")
    env = dict(os.environ, PORTAL_LINKS_HOME=os.path.join(work, "home"))
    http = free_port()
    process = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{free_port()}", "--http", f"127.0.0.1:{http}",
                                "--log-level", "warning"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = ""
        deadline = time.monotonic() + 60
        while "sample link" not in out and time.monotonic() < deadline and process.poll() is None:
            out += process.stdout.readline()
        key = re.search(r"API key \(shown once\): (\S+)", out)
        link = re.search(r"sample link to verify: (\S+)", out)
        assert key and link, f"serve printed no key and link: {out}"
        url = f"http://127.0.0.1:{http}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", http), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield Served(url, key.group(1), link.group(1), env)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


CODECS = [pytest.param(False, id="binary"), pytest.param(True, id="json")]


@pytest.mark.parametrize("proto_json", CODECS)
def test_health_and_links(served: Served, proto_json: bool) -> None:
    with HealthClientSync(served.url, proto_json=proto_json) as health:
        assert health.check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    with LinksClientSync(served.url, proto_json=proto_json) as links:
        valid = links.verify(links_pb2.VerifyRequest(token=served.link), headers=served.auth())
        assert valid.valid and valid.client_id == "demo" and valid.display_name == "Demo Client"
        invalid = links.verify(links_pb2.VerifyRequest(token="garbage"), headers=served.auth())
        assert not invalid.valid and invalid.reason == links_pb2.REASON_MALFORMED
        issued = links.issue(links_pb2.IssueRequest(client_id="acme", display_name="Zoë & Co"), headers=served.auth())
        assert issued.token and issued.link_id
        assert links.verify(links_pb2.VerifyRequest(token=issued.token), headers=served.auth()).display_name == "Zoë & Co"


@pytest.mark.parametrize("proto_json", CODECS)
def test_accounts_and_sessions(served: Served, proto_json: bool) -> None:
    email = f"ana-{'json' if proto_json else 'binary'}@acme.example"
    with AccountsClientSync(served.url, proto_json=proto_json) as accounts, \
            SessionsClientSync(served.url, proto_json=proto_json) as sessions:
        account = accounts.register(accounts_pb2.RegisterRequest(token=served.link, email=email.upper(), password=PASSWORD),
                                    headers=served.auth()).account
        assert account.email == email and account.client_id == "demo"
        signed_in = accounts.sign_in(accounts_pb2.SignInRequest(email=email, password=PASSWORD), headers=served.auth())
        token = signed_in.session.token
        checked = sessions.verify(accounts_pb2.SessionVerifyRequest(token=token), headers=served.auth())
        assert checked.valid and checked.client_id == "demo"
        refreshed = sessions.refresh(accounts_pb2.RefreshRequest(token=token), headers=served.auth()).session.token
        sessions.sign_out(accounts_pb2.SignOutRequest(token=refreshed), headers=served.auth())
        deadline = time.monotonic() + 5
        while sessions.verify(accounts_pb2.SessionVerifyRequest(token=refreshed), headers=served.auth()).reason != "ended":
            assert time.monotonic() < deadline, "the signed-out session still verifies"
            time.sleep(0.05)
        reset = accounts.request_password_reset(accounts_pb2.PasswordResetRequest(email=email), headers=served.auth())
        accounts.reset_password(accounts_pb2.ResetPasswordRequest(reset_token=reset.reset_token, new_password="another long passphrase"),
                                headers=served.auth())
        accounts.sign_in(accounts_pb2.SignInRequest(email=email, password="another long passphrase"), headers=served.auth())


@pytest.mark.parametrize("proto_json", CODECS)
def test_error_codes_and_details(served: Served, proto_json: bool) -> None:
    verifier = served.staff("callers", "add", f"verifier-{proto_json}", "--scopes", "verify")
    with LinksClientSync(served.url, proto_json=proto_json) as links, \
            AccountsClientSync(served.url, proto_json=proto_json) as accounts:
        with pytest.raises(ConnectError) as unknown:
            links.verify(links_pb2.VerifyRequest(token=served.link), headers=served.auth("plk_not_a_key"))
        assert unknown.value.code == Code.UNAUTHENTICATED
        with pytest.raises(ConnectError) as unscoped:
            links.issue(links_pb2.IssueRequest(client_id="acme"), headers=served.auth(verifier))
        assert unscoped.value.code == Code.PERMISSION_DENIED
        with pytest.raises(ConnectError) as refused:
            accounts.register(accounts_pb2.RegisterRequest(token="garbage", email="bo@acme.example", password=PASSWORD),
                              headers=served.auth())
        assert refused.value.code == Code.FAILED_PRECONDITION
        detail = error_pb2.Error()
        assert refused.value.details and refused.value.details[0].Unpack(detail) is not False
        assert detail.reason == "malformed"
        with pytest.raises(ConnectError) as wrong:
            accounts.sign_in(accounts_pb2.SignInRequest(email="nobody@acme.example", password=PASSWORD), headers=served.auth())
        assert wrong.value.code == Code.UNAUTHENTICATED
        assert served.key not in str(wrong.value) and PASSWORD not in str(wrong.value)


def test_deadlines(served: Served) -> None:
    with AccountsClientSync(served.url) as accounts, LinksClientSync(served.url) as links:
        # Within its deadline: the header is sent (connect-timeout-ms) and accepted.
        assert links.verify(links_pb2.VerifyRequest(token=served.link), headers=served.auth(), timeout_ms=5_000).valid
        # A sign-in hashes a password (tens of milliseconds): a 1 ms deadline cannot be met.
        with pytest.raises(ConnectError) as late:
            accounts.sign_in(accounts_pb2.SignInRequest(email="nobody@acme.example", password=PASSWORD), headers=served.auth(),
                             timeout_ms=1)
        assert late.value.code == Code.DEADLINE_EXCEEDED
