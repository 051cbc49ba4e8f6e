"""`portal-links issue --send` against a real SMTP server (aiosmtpd) with STARTTLS required and AUTH: each
message arrives once, parses, has both parts, the right recipient, subject and a link that verifies; a
recipient the server refuses is reported while the others are sent; a server that is down, a wrong password
and a certificate that does not verify are each one clear failure with the link kept and nothing sent; no
token in any line the command writes besides the link itself."""
import email
import json
import email.policy
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

BIN = os.environ["PORTAL_LINKS_BIN"]
USER, PASSWORD = "portal", "s3cret-smtp-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Accepts every recipient but those starting with 'reject', and keeps each message with its envelope."""

    def __init__(self):
        self.messages = []
        self.deferred = set()

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith("reject"):
            return "550 5.1.1 <%s>: no such user here" % address
        if address.startswith("slow") and address not in self.deferred:  # a greylisting server: later, please
            self.deferred.add(address)
            return "451 4.7.1 <%s>: greylisted, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 queued"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(scope="module")
def smtp():
    with tempfile.TemporaryDirectory() as folder:
        key, cert = os.path.join(folder, "key.pem"), os.path.join(folder, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        mailbox = Mailbox()
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                                authenticator=authenticator, auth_require_tls=True)
        controller.start()
        try:
            yield mailbox, port, cert
        finally:
            controller.stop()


@pytest.fixture()
def home():
    with tempfile.TemporaryDirectory() as folder:
        yield os.path.join(folder, "home")


def issue(home, port, cert, *recipients, password=PASSWORD, ca=True, extra=()):
    env = dict(smtp_env(home, port, cert), PORTAL_LINKS_SMTP_PASSWORD=password)
    if not ca:
        del env["PORTAL_LINKS_SMTP_CA_FILE"]
    arguments = [BIN, "issue", "--client", "acme", "--name", "Acme Ünïcode GmbH", "--base-url", "https://portal.example.com/join",
                 "--send", *extra]
    for recipient in recipients:
        arguments += ["--sent-to", recipient]
    return subprocess.run(arguments, env=env, capture_output=True, text=True, timeout=60), env


def ledger(env):
    return subprocess.run([BIN, "links", "list", "--client", "acme"], env=env, capture_output=True, text=True, check=True).stdout


def test_each_recipient_gets_the_invitation_once(smtp, home):
    mailbox, port, cert = smtp
    before = len(mailbox.messages)
    result, env = issue(home, port, cert, "ana@client.example", "bo@client.example")
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    token = url.split("token=")[1]
    arrived = mailbox.messages[before:]
    assert sorted(rcpt for rcpts, _ in arrived for rcpt in rcpts) == ["ana@client.example", "bo@client.example"]
    for _, content in arrived:
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert message["Subject"] == "Your invitation to the Acme Ünïcode GmbH portal"
        assert message["From"] == "invitations@portal.example.com"
        assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"] and message["Date"]
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert url in text and url.replace("&", "&amp;") in html
    verified = subprocess.run([BIN, "verify", token], env=env, capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert token not in result.stderr
    assert "sent link" in result.stderr and result.stderr.count("\n") == 2


def test_a_refused_recipient_is_reported_and_the_others_are_sent(smtp, home):
    mailbox, port, cert = smtp
    before = len(mailbox.messages)
    result, env = issue(home, port, cert, "reject-me@client.example", "cy@client.example")
    assert result.returncode == 1
    assert [rcpts for rcpts, _ in mailbox.messages[before:]] == [["cy@client.example"]]
    assert re.search(r"not sent to reject-me@client\.example: 550 5\.1\.1", result.stderr), result.stderr
    token = result.stdout.strip().split("token=")[1]
    assert token not in result.stderr
    assert "acme" in ledger(env), "the link is issued and recorded whatever the sending did"
    # The ledger keeps each recipient's outcome, shown by links show and links list.
    link_id = re.search(r"sent link ([0-9a-f]+) to", result.stderr).group(1)
    shown = json.loads(subprocess.run([BIN, "links", "show", link_id, "--json"], env=env, capture_output=True, text=True, check=True).stdout)
    states = {d["address"]: (d["state"], d["detail"]) for d in shown["deliveries"]}
    assert states["cy@client.example"][0] == "sent" and states["cy@client.example"][1].startswith("250")
    assert states["reject-me@client.example"][0] == "failed" and states["reject-me@client.example"][1].startswith("550 5.1.1")
    assert "1 sent, 1 failed" in ledger(env)


@pytest.mark.parametrize("case", ["server down", "wrong password", "certificate not trusted"])
def test_a_failure_before_any_recipient_sends_nothing_and_keeps_the_link(smtp, home, case):
    mailbox, port, cert = smtp
    before = len(mailbox.messages)
    if case == "server down":
        result, env = issue(home, free_port(), cert, "dee@client.example", "eve@client.example")
        expected = "connect"
    elif case == "wrong password":
        result, env = issue(home, port, cert, "dee@client.example", "eve@client.example", password="wrong")
        expected = "refused the account"
    else:
        result, env = issue(home, port, cert, "dee@client.example", "eve@client.example", ca=False)
        expected = "certificate"
    assert result.returncode == 1
    assert len(mailbox.messages) == before, "nothing was sent"
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("portal-links: not sent to ") for line in lines), result.stderr
    assert expected in result.stderr.lower(), result.stderr
    assert PASSWORD not in result.stderr and "wrong" not in result.stderr.replace("wrong password", "")
    token = result.stdout.strip().split("token=")[1]
    assert token not in result.stderr
    assert "acme" in ledger(env)
    # Nothing lost: the ledger names the failure, and a resend through a working server reaches each address once.
    link_id = json.loads(subprocess.run([BIN, "links", "list", "--json"], env=env, capture_output=True, text=True).stdout)[0]["link_id"]
    shown = json.loads(subprocess.run([BIN, "links", "show", link_id, "--json"], env=env, capture_output=True, text=True).stdout)
    assert [d["state"] for d in shown["deliveries"]] == ["failed", "failed"]
    fixed = dict(env, PORTAL_LINKS_SMTP=f"smtp://127.0.0.1:{port}", PORTAL_LINKS_SMTP_PASSWORD=PASSWORD, PORTAL_LINKS_SMTP_CA_FILE=cert)
    resent = subprocess.run([BIN, "links", "resend", link_id, "--base-url", "https://portal.example.com/join"], env=fixed,
                            capture_output=True, text=True, timeout=60)
    assert resent.returncode == 0, resent.stderr
    assert sorted(r for rcpts, _ in mailbox.messages[before:] for r in rcpts) == ["dee@client.example", "eve@client.example"]


def test_the_outbox_holds_each_message_privately_and_nothing_is_sent(smtp, home):
    mailbox, port, cert = smtp
    before = len(mailbox.messages)
    with tempfile.TemporaryDirectory() as folder:
        outbox = os.path.join(folder, "outbox")
        result, _ = issue(home, port, cert, "fay@client.example", extra=["--outbox", outbox])
        assert result.returncode == 0, result.stderr
        files = os.listdir(outbox)
        assert len(files) == 1 and files[0].endswith(".eml")
        path = os.path.join(outbox, files[0])
        assert os.stat(path).st_mode & 0o777 == 0o600
        message = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.default)
        assert result.stdout.strip() in message.get_body(("plain",)).get_content()
    assert len(mailbox.messages) == before


def test_bulk_onboarding_sends_each_row_once_at_the_rate_asked(smtp, home):
    mailbox, port, cert = smtp
    before = len(mailbox.messages)
    with tempfile.TemporaryDirectory() as folder:
        csv = os.path.join(folder, "clients.csv")
        with open(csv, "w") as file:
            file.write("client_id,name,expires,sent_to\n"
                       "acme,Acme,30d,ana@acme.example;reject-ben@acme.example\n"
                       "globex,Globex,30d,\n"
                       "initech,Initech,30d,ines@initech.example\n"
                       "umbrella,Umbrella,30d,uma@umbrella.example\n")
        env = smtp_env(home, port, cert)
        started = time.monotonic()
        result = subprocess.run([BIN, "issue", "--csv", csv, "--base-url", "https://portal.example.com/join", "--send", "--rate", "4"],
                                env=env, capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert elapsed >= 0.5, "three emails at 4 a second take at least half a second"
    received = sorted(rcpt for rcpts, _ in mailbox.messages[before:] for rcpt in rcpts)
    assert received == ["ana@acme.example", "ines@initech.example", "uma@umbrella.example"]
    assert re.search(r"row 2: not sent to reject-ben@acme\.example: 550", result.stderr), result.stderr
    assert "emailed 3 links: 3 addresses sent to, 1 not" in result.stderr
    links = [line.split(",")[5] for line in result.stdout.splitlines()[1:]]
    assert len(links) == 4 and not any(link.split("token=")[1] in result.stderr for link in links)


def smtp_env(home, port, cert):
    return dict(os.environ, PORTAL_LINKS_HOME=home, PORTAL_LINKS_SMTP=f"smtp://127.0.0.1:{port}", PORTAL_LINKS_SMTP_USER=USER,
                PORTAL_LINKS_SMTP_PASSWORD=PASSWORD, PORTAL_LINKS_MAIL_FROM="invitations@portal.example.com",
                PORTAL_LINKS_SMTP_CA_FILE=cert, PORTAL_LINKS_BASE_URL="https://portal.example.com/join")


def run(env, *arguments):
    return subprocess.run([BIN, *arguments], env=env, capture_output=True, text=True, timeout=60)


def test_resend_sends_a_new_link_and_can_revoke_the_old(smtp, home):
    mailbox, port, cert = smtp
    env = smtp_env(home, port, cert)
    first = run(env, "issue", "--client", "acme", "--name", "Acme", "--sent-to", "ana@acme.example", "--send", "--max-accounts", "2")
    assert first.returncode == 0, first.stderr
    old_token = first.stdout.strip().split("token=")[1]
    old_id = re.search(r"sent link ([0-9a-f]+) to", first.stderr).group(1)
    before = len(mailbox.messages)
    again = run(env, "links", "resend", old_id, "--expires", "7d", "--revoke-old")
    assert again.returncode == 0, again.stderr
    new_url = again.stdout.strip()
    new_token = new_url.split("token=")[1]
    assert new_token != old_token
    [(rcpts, content)] = mailbox.messages[before:]
    assert rcpts == ["ana@acme.example"]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert new_url in message.get_body(("plain",)).get_content()
    assert run(env, "verify", new_token).returncode == 0
    assert run(env, "verify", old_token).returncode == 1, "--revoke-old revoked the old link"
    new_id = re.search(r"sent link ([0-9a-f]+) to", again.stderr).group(1)
    shown = json.loads(run(env, "links", "show", new_id, "--json").stdout)
    assert shown["replaces"] == old_id and shown["sent_to"] == ["ana@acme.example"] and shown["max_accounts"] == 2
    assert shown["expires_at"] - shown["issued_at"] == 7 * 86400
    assert run(env, "links", "resend", "0123456789abcdef").returncode == 1


def test_renew_replaces_what_expires_soon_once(smtp, home):
    mailbox, port, cert = smtp
    env = smtp_env(home, port, cert)
    assert run(env, "issue", "--client", "soon", "--name", "Soon Ltd", "--expires", "3d", "--sent-to", "sam@soon.example").returncode == 0
    assert run(env, "issue", "--client", "later", "--expires", "60d", "--sent-to", "lee@later.example").returncode == 0
    assert run(env, "issue", "--client", "unsent", "--expires", "3d").returncode == 0
    revoked = run(env, "issue", "--client", "gone", "--expires", "3d", "--sent-to", "gil@gone.example", "--format", "json")
    assert run(env, "revoke", "link", json.loads(revoked.stdout)["link_id"]).returncode == 0
    dry = run(env, "links", "renew", "--expiring-within", "14d", "--dry-run")
    assert dry.returncode == 0 and [line.split(",")[1] for line in dry.stdout.splitlines()[1:]] == ["soon"], dry.stdout
    before = len(mailbox.messages)
    # Three days again would be due again at once: refused, nothing issued or sent.
    short = run(env, "links", "renew", "--expiring-within", "14d", "--send")
    assert short.returncode == 2 and "longer than the window" in short.stderr and len(short.stderr.splitlines()) == 1, short.stderr
    assert len(mailbox.messages) == before and short.stdout == ""
    renewed = run(env, "links", "renew", "--expiring-within", "14d", "--send", "--expires", "30d")
    assert renewed.returncode == 0, renewed.stderr
    [(rcpts, content)] = mailbox.messages[before:]
    assert rcpts == ["sam@soon.example"]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == "A new link to the Soon Ltd portal"
    row = renewed.stdout.splitlines()[1].split(",")
    assert message.get_body(("plain",)).get_content().count(row[5]) == 1
    assert run(env, "verify", row[5].split("token=")[1]).returncode == 0
    again = run(env, "links", "renew", "--expiring-within", "14d", "--send", "--expires", "30d")
    assert again.returncode == 0 and "no link to renew" in again.stderr
    assert len(mailbox.messages) == before + 1, "running it twice sends nothing twice"


def connect_call(port, key, method, body):
    """A Connect JSON call to the gateway: (HTTP status, answer)."""
    import urllib.error
    import urllib.request
    request = urllib.request.Request(f"http://127.0.0.1:{port}/portal_links.v1.{method}", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_for(mailbox, count, seconds=20):
    deadline = time.monotonic() + seconds
    while len(mailbox.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(mailbox.messages) >= count


def test_serve_emails_resets_and_welcomes_itself(smtp, home):
    """With --reset-url, Accounts.RequestPasswordReset answers without the token and the service emails the
    reset link to the address on record; with --welcome-url, registration sends a welcome. A greylisting 451
    is retried; every outcome is in the activity log, and no token in the server's log."""
    mailbox, port, cert = smtp
    env = smtp_env(home, port, cert)
    key = run(env, "callers", "add", "front", "--scopes", "verify,accounts").stdout.strip()
    link = run(env, "issue", "--client", "acme", "--name", "Acme Portal", "--format", "token").stdout.strip()
    binary, http = free_port(), free_port()
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{binary}", "--http", f"127.0.0.1:{http}", "--hash-priority", "normal",
                                   "--reset-url", "https://portal.example.com/reset?token={token}",
                                   "--welcome-url", "https://portal.example.com/sign-in"], env=env, stderr=log, stdout=subprocess.DEVNULL)
        try:
            for _ in range(100):
                log.seek(0)
                if "listening on" in log.read():
                    break
                time.sleep(0.1)
            log.seek(0)
            assert "account emails (password resets, welcomes) through smtp://127.0.0.1" in log.read()
            before = len(mailbox.messages)
            for email_address in ["ana@acme.example", "slow-sue@acme.example", "reject-rob@acme.example"]:
                status, _ = connect_call(http, key, "Accounts/Register", {"token": link, "email": email_address, "password": "correct horse battery"})
                assert status == 200
            assert wait_for(mailbox, before + 2), "both welcomes arrived, the greylisted one after its retry"
            welcomes = {rcpts[0]: email.message_from_bytes(content, policy=email.policy.default) for rcpts, content in mailbox.messages[before:]}
            assert welcomes["ana@acme.example"]["Subject"] == "Welcome to the Acme Portal portal"
            assert "https://portal.example.com/sign-in" in welcomes["slow-sue@acme.example"].get_body(("plain",)).get_content()

            before = len(mailbox.messages)
            status, answer = connect_call(http, key, "Accounts/RequestPasswordReset", {"email": "ANA@acme.example"})
            assert status == 200 and "resetToken" not in answer and answer["email"] == "ana@acme.example", answer
            assert wait_for(mailbox, before + 1)
            [(rcpts, content)] = mailbox.messages[before:]
            assert rcpts == ["ana@acme.example"], "sent to the address on record"
            message = email.message_from_bytes(content, policy=email.policy.default)
            reset_link = re.search(r"https://portal\.example\.com/reset\?token=(\S+)", message.get_body(("plain",)).get_content())
            token = reset_link.group(1)
            status, _ = connect_call(http, key, "Accounts/ResetPassword", {"resetToken": token, "newPassword": "a new and long password"})
            assert status == 200
            status, _ = connect_call(http, key, "Accounts/SignIn", {"email": "ana@acme.example", "password": "a new and long password"})
            assert status == 200
            # No address on record: the same answer, and no email.
            status, answer = connect_call(http, key, "Accounts/RequestPasswordReset", {"email": "nobody@acme.example"})
            assert status == 200 and "resetToken" not in answer
        finally:
            server.terminate()
            server.wait(timeout=30)
        log.seek(0)
        server_log = log.read()
    assert token not in server_log and link not in server_log and PASSWORD not in server_log
    activity = run(env, "audit", "--account", "slow-sue@acme.example").stdout
    assert re.search(r"account\.welcome_email\t.*retrying in 1\.0 seconds: 451 4\.7\.1", activity), activity
    assert re.search(r"account\.welcome_email\t.*sent: 250", activity), activity
    refused = run(env, "audit", "--account", "reject-rob@acme.example").stdout
    assert re.search(r"account\.welcome_email\t.*failed: 550 5\.1\.1", refused) and "retrying" not in refused, "a 5xx is not retried"
    ana = run(env, "audit", "--account", "ana@acme.example").stdout
    assert re.search(r"account\.reset_email\t.*sent: 250", ana) and token not in ana, ana
    assert len(mailbox.messages) == before + 1, "nothing for an address with no account"


def test_send_without_a_server_is_one_error_and_issues_nothing(home):
    env = dict(os.environ, PORTAL_LINKS_HOME=home)
    for variable in ["PORTAL_LINKS_SMTP", "PORTAL_LINKS_MAIL_FROM", "PORTAL_LINKS_SMTP_USER", "PORTAL_LINKS_SMTP_PASSWORD"]:
        env.pop(variable, None)
    base = ["issue", "--client", "acme", "--sent-to", "ana@acme.example", "--base-url", "https://portal.example.com/join", "--send"]
    for extra, says in [([], "SMTP server"), (["--smtp", "smtp://127.0.0.1:1"], "sender address"),
                        (["--smtp", "smtp://user:secret@127.0.0.1:1", "--mail-from", "a@portal.example.com"], "must not hold an account"),
                        (["--smtp", "http://127.0.0.1:1", "--mail-from", "a@portal.example.com"], "smtp://"),
                        (["--smtp", "smtp://127.0.0.1:1", "--mail-from", "a@portal.example.com", "--smtp-user", "u"], "password")]:
        result = run(env, *base, *extra)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and says in result.stderr, (extra, result.stderr)
        assert "secret" not in result.stderr
    assert "no links" in run(env, "links", "list").stdout, "nothing was issued"
    with tempfile.TemporaryDirectory() as folder:
        password = os.path.join(folder, "password")
        with open(password, "w") as file:
            file.write("secret\n")
        os.chmod(password, 0o644)
        result = run(env, *base, "--smtp", "smtp://127.0.0.1:1", "--mail-from", "a@portal.example.com", "--smtp-user", "u",
                     "--smtp-password-file", password)
        assert result.returncode == 2 and "chmod 600" in result.stderr and "secret" not in result.stderr, result.stderr
