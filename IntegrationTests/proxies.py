"""Forward auth through real reverse proxies: Debian's nginx (auth_request) and Caddy (forward_auth), each
started on free loopback ports with the configuration docs/http.md gives, in front of a small upstream that
echoes the headers it receives, and `portal-links serve` behind them.

Checked for each proxy: a valid link passes with its identity headers; an expired, a forged and a revoked link
are refused (401, or Caddy's redirect); a link revoked with the CLI is refused through the proxy within a
second; a session cookie passes and an ended session does not; identity headers sent by the browser never
reach the upstream. Traefik and Envoy are not in Debian: the requests they send are sent to the gateway
directly. Run through IntegrationTests/proxies.sh.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HOST, Serve, die_with_parent, free_port, staff  # noqa: E402

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "http.md")
PASSWORD = "correct horse battery"
failures: List[str] = []


def check(condition: bool, what: str) -> None:
    print(("  ok   " if condition else "  FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def docs_block(language: str) -> str:
    """The first ```language block of docs/http.md: the configuration users copy is the one tested."""
    with open(DOCS, encoding="utf-8") as docs:
        found = re.search(rf"```{language}\n(.*?)\n```", docs.read(), re.S)
    assert found, f"no {language} block in docs/http.md"
    return found.group(1)


def configured(text: str, gateway: int, upstream: int, proxy: int, key: str) -> str:
    """The docs' example addresses and key replaced by this run's."""
    for example, actual in [("127.0.0.1:7421", f"{HOST}:{gateway}"), ("127.0.0.1:8080", f"{HOST}:{upstream}"),
                            ("127.0.0.1:8000", f"{HOST}:{proxy}"), ("plk_REPLACE_WITH_THE_PROXY_KEY", key)]:
        assert example in text, f"{example} not in the docs' configuration"
        text = text.replace(example, actual)
    return text


class Upstream(http.server.BaseHTTPRequestHandler):
    """The app behind the proxy: answers 200 with the request's headers as JSON."""

    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps({name.lower(): value for name, value in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *_: object) -> None:
        pass


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: object, **__: object) -> None:  # type: ignore[override]
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def get(port: int, path: str, headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", headers=headers or {})
    try:
        with OPENER.open(request, timeout=10) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def connect_call(port: int, path: str, key: str, message: Dict[str, str]) -> Dict[str, object]:
    """A Connect JSON call to the gateway, as a front-end makes it."""
    request = urllib.request.Request(f"http://{HOST}:{port}/portal_links.v1.{path}", data=json.dumps(message).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def within(seconds: float, condition: Callable[[], bool]) -> Optional[float]:
    """How long `condition` took to hold, or None if it did not within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def wait_for_port(port: int, process: subprocess.Popen, name: str, log: str) -> None:
    def open_() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {open(log).read()[-2000:]}")
        try:
            get(port, "/")
            return True
        except OSError:
            return False
    if within(20, open_) is None:
        raise RuntimeError(f"{name} did not listen on {port}")


def start_nginx(work: str, server_block: str) -> subprocess.Popen:
    root = os.path.join(work, "nginx")
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    config = os.path.join(root, "nginx.conf")
    with open(config, "w") as out:
        out.write(f"""worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/body; proxy_temp_path {root}/proxy; fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
{server_block}
}}
""")
    log = open(os.path.join(root, "logs", "stderr.log"), "w")
    return subprocess.Popen(["nginx", "-p", root, "-c", config, "-g", "daemon off;"], stdout=log, stderr=log,
                            preexec_fn=die_with_parent)


def start_caddy(work: str, caddyfile: str) -> subprocess.Popen:
    root = os.path.join(work, "caddy")
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, "Caddyfile")
    with open(path, "w") as out:
        out.write(caddyfile + "\n")
    log = open(os.path.join(root, "stderr.log"), "w")
    env = dict(os.environ, HOME=root, XDG_DATA_HOME=root, XDG_CONFIG_HOME=root)
    return subprocess.Popen(["caddy", "run", "--config", path, "--adapter", "caddyfile"], stdout=log, stderr=log,
                            env=env, preexec_fn=die_with_parent)


def exercise(name: str, proxy: int, env: Dict[str, str], gateway: int, accounts_key: str, refused: int) -> None:
    print(f"{name} on {HOST}:{proxy}", flush=True)
    link = staff(env, "issue", "--client", "acme", "--name", "Zoë & Co", "--expires", "1h", "--format", "token")
    spoof = {"X-Portal-Client-Id": "evil", "X-Portal-Account-Id": "evil", "X-Portal-Session-Id": "evil",
             "X-Portal-Client-Name": "evil", "X-Portal-Link-Id": "evil"}
    status, _, body = get(proxy, f"/join/start?token={urllib.parse.quote(link)}", spoof)
    seen = json.loads(body) if status == 200 else {}
    check(status == 200 and seen.get("x-portal-client-id") == "acme", f"{name}: a valid link passes with its client ({status})")
    check(seen.get("x-portal-client-name") == "Zo%C3%AB%20%26%20Co", f"{name}: the name, percent-encoded")
    check(re.fullmatch(r"[0-9a-f]{16}", seen.get("x-portal-link-id", "")) is not None, f"{name}: the link ID")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", seen.get("x-portal-expires-at", "")) is not None, f"{name}: the expiry")
    spoofed = sorted(header for header, value in seen.items() if value == "evil")
    check(not spoofed, f"{name}: no X-Portal-* header the browser sent reaches the upstream {spoofed or ''}")

    forged = link[:-2] + ("A" if link[-2] != "A" else "B") + link[-1]
    expired = staff(env, "issue", "--client", "acme", "--expires", "1s", "--format", "token")
    time.sleep(2.2)  # past the expiry: the server runs with no leeway (PORTAL_LINKS_LEEWAY=0)
    for token, reason in [(forged, "bad_signature"), (expired, "expired"), ("garbage", "malformed")]:
        status, headers, body = get(proxy, f"/join/start?token={urllib.parse.quote(token)}", spoof)
        check(status == refused and b"x-portal-client-id" not in body, f"{name}: a {reason} link is refused ({status})")
        if refused == 302:
            check(headers.get("location", "").endswith(f"reason={reason}"), f"{name}: the redirect carries the reason")

    revocable = staff(env, "issue", "--client", "acme", "--expires", "1h", "--format", "token")
    check(get(proxy, f"/join/start?token={urllib.parse.quote(revocable)}")[0] == 200, f"{name}: the link to revoke passes")
    revocable_id = json.loads(staff(env, "verify", "--json", revocable))["link_id"]
    started = time.monotonic()
    staff(env, "revoke", "link", revocable_id)
    took = within(5, lambda: get(proxy, f"/join/start?token={urllib.parse.quote(revocable)}")[0] == refused)
    check(took is not None and time.monotonic() - started < 1.5,
          f"{name}: a link revoked with the CLI is refused through the proxy within a second "
          f"({time.monotonic() - started:.2f} s from the command's start)")

    # Sessions: register and sign in through the gateway's Connect door, then through the proxy with the cookie.
    email = f"ana-{name}@acme.example"
    connect_call(gateway, "Accounts/Register", accounts_key, {"token": link, "email": email, "password": PASSWORD})
    session = connect_call(gateway, "Accounts/SignIn", accounts_key, {"email": email, "password": PASSWORD})["session"]
    token = session["token"]  # type: ignore[index]
    status, _, body = get(proxy, "/app/home", {"Cookie": f"portal_session={token}", **spoof})
    seen = json.loads(body) if status == 200 else {}
    check(status == 200 and seen.get("x-portal-client-id") == "acme" and seen.get("x-portal-account-id", "evil") != "evil"
          and re.fullmatch(r"[0-9a-f]{16}", seen.get("x-portal-session-id", "")) is not None,
          f"{name}: a session cookie passes with its account and session ({status})")
    connect_call(gateway, "Sessions/SignOut", accounts_key, {"token": token})
    ended = within(5, lambda: get(proxy, "/app/home", {"Cookie": f"portal_session={token}"})[0] == refused)
    check(ended is not None, f"{name}: an ended session is refused ({refused})")
    check(get(proxy, "/app/home")[0] == refused, f"{name}: no session, no entry")


def as_sent(name: str, method: str, path: str, headers: Dict[str, str], gateway: int) -> Tuple[int, Dict[str, str]]:
    """A request exactly as a proxy we cannot run here sends it, straight to the gateway."""
    connection = http.client.HTTPConnection(HOST, gateway, timeout=10)
    try:
        connection.request(method, path, headers=headers)
        answer = connection.getresponse()
        answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}
    finally:
        connection.close()


def traefik_and_envoy(env: Dict[str, str], gateway: int, proxy_key: str) -> None:
    """Traefik's ForwardAuth and Envoy's ext_authz (HTTP mode) are not in Debian: the requests they send, as
    their documentation and source describe them, for the configurations in docs/http.md."""
    link = staff(env, "issue", "--client", "acme", "--name", "Zoë & Co", "--expires", "1h", "--format", "token")
    query = urllib.parse.quote(link)
    # Traefik: GET to the configured address, its X-Forwarded-* set, the authRequestHeaders copied.
    traefik = {"X-Forwarded-Method": "POST", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "portal.example.com",
               "X-Forwarded-Uri": f"/join/start?token={query}", "X-Forwarded-For": "203.0.113.9",
               "X-Portal-Api-Key": proxy_key, "Cookie": "theme=dark", "Accept": "text/html"}
    status, headers = as_sent("traefik", "GET", "/auth/link?redirect=1", traefik, gateway)
    check(status == 200 and headers.get("x-portal-client-id") == "acme" and headers.get("x-portal-account-id") == "",
          f"traefik: a valid link passes with every identity header ({status})")
    traefik["X-Forwarded-Uri"] = "/join/start?token=garbage"
    status, headers = as_sent("traefik", "GET", "/auth/link?redirect=1", traefik, gateway)
    check(status == 302 and headers.get("location", "").endswith("reason=malformed"), f"traefik: refused with the redirect ({status})")
    # Envoy: the original method, path_prefix + the original path and query, no body, Content-Length 0, the
    # allowed headers, and headers_to_add.
    for method in ["GET", "HEAD", "POST", "DELETE"]:
        envoy = {"Content-Length": "0", "x-forwarded-proto": "https", "x-request-id": "4b9f", "x-envoy-expected-rq-timeout-ms": "500",
                 "x-portal-api-key": proxy_key}
        status, headers = as_sent("envoy", method, f"/auth/link/join/start?token={query}", envoy, gateway)
        check(status == 200 and headers.get("x-portal-client-name") == "Zo%C3%AB%20%26%20Co",
              f"envoy {method}: a valid link passes (only 200 lets Envoy through) ({status})")
        status, headers = as_sent("envoy", method, "/auth/link/join/start?token=garbage", envoy, gateway)
        check(status == 401 and headers.get("x-portal-reason") == "malformed", f"envoy {method}: refused with 401 ({status})")


def main() -> int:
    work = tempfile.mkdtemp(prefix="portal-links-proxies-")
    env = dict(os.environ, PORTAL_LINKS_HOME=os.path.join(work, "home"), PORTAL_LINKS_ACTOR="proxies-test")
    processes: List[subprocess.Popen] = []
    server: Optional[Serve] = None
    upstream = http.server.ThreadingHTTPServer((HOST, 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        proxy_key = staff(env, "callers", "add", "edge-proxy", "--scopes", "verify,accounts")
        accounts_key = staff(env, "callers", "add", "join-page", "--scopes", "verify,accounts")
        server = Serve(dict(env, PORTAL_LINKS_LEEWAY="0"), os.path.join(work, "serve.log"), "--link-refused-page", "https://portal.example.com/refused",
                        "--sign-in-page", "https://portal.example.com/sign-in")
        server.start()
        gateway, upstream_port = server.http_port, upstream.server_address[1]

        nginx_port = free_port()
        nginx = start_nginx(work, configured(docs_block("nginx"), gateway, upstream_port, nginx_port, proxy_key))
        processes.append(nginx)
        wait_for_port(nginx_port, nginx, "nginx", os.path.join(work, "nginx", "logs", "stderr.log"))
        exercise("nginx", nginx_port, env, gateway, accounts_key, refused=401)

        caddy_port = free_port()
        caddy = start_caddy(work, configured(docs_block("caddyfile"), gateway, upstream_port, caddy_port, proxy_key))
        processes.append(caddy)
        wait_for_port(caddy_port, caddy, "caddy", os.path.join(work, "caddy", "stderr.log"))
        exercise("caddy", caddy_port, env, gateway, accounts_key, refused=302)

        print("traefik and envoy, as they send", flush=True)
        traefik_and_envoy(env, gateway, proxy_key)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if server is not None:
            server.stop()
        upstream.shutdown()
        if not failures:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"proxies: {len(failures)} failed (work folder {work})")
        return 1
    print("proxies: nginx and Caddy, every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
