"""`portal-links serve --config`, `config check` and `config show`, and reloads (SIGHUP, a changed file): what an
operator relies on, tried against the binary. Certificates are made here with openssl."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

BIN = os.environ["PORTAL_LINKS_BIN"]
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "docs", "portal-links.example.yaml")
# Settings a test environment might carry in from the shell, which would change what is tested.
CLEAN = {name: value for name, value in os.environ.items() if not name.startswith("PORTAL_LINKS_")}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(*arguments, env=None, folder=None):
    return subprocess.run([BIN, *arguments], capture_output=True, text=True, timeout=60,
                          env=dict(CLEAN, **(env or {})), cwd=folder)


def write(path, text, mode=0o600):
    with open(path, "w") as file:
        file.write(text)
    os.chmod(path, mode)
    return path


def certificate(folder, name):
    """A self-signed certificate for 127.0.0.1 whose subject is CN=name; returns (certificate, key) paths."""
    cert, key = os.path.join(folder, f"{name}.pem"), os.path.join(folder, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return cert, key


def served_subject(port):
    """The subject of the certificate a new TLS connection to `port` is shown, as openssl s_client prints it."""
    result = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost"],
                            input="", capture_output=True, text=True, timeout=30)
    found = re.search(r"^subject=.*CN\s*=\s*(\S+)", result.stdout, re.M)
    return found.group(1) if found else None


class Serve:
    """serve in a throw-away home, its standard error gathered line by line."""

    def __init__(self, folder, *arguments, env=None):
        self.home = os.path.join(folder, "home")
        self.env = dict(CLEAN, PORTAL_LINKS_HOME=self.home, **(env or {}))
        self.err_path = os.path.join(folder, f"serve-{time.monotonic_ns()}.err")
        self.out_path = self.err_path.replace(".err", ".out")
        with open(self.err_path, "w") as err, open(self.out_path, "w") as out:
            self.process = subprocess.Popen([BIN, "serve", *arguments], env=self.env, stdout=out, stderr=err, cwd=folder)

    @property
    def log(self):
        with open(self.err_path) as err:
            return err.read()

    @property
    def out(self):
        with open(self.out_path) as out:
            return out.read()

    def wait_for(self, pattern, seconds=60, after=0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log[after:])
            if found:
                return found
            assert self.process.poll() is None, f"serve exited: {self.log}"
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} within {seconds} s in:\n{self.log}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def folder():
    path = tempfile.mkdtemp(prefix="portal-links-config-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- config check and config show -----------------------------------------------------------------------------

def test_the_annotated_example_is_accepted_and_names_every_setting():
    result = run("config", "check", EXAMPLE)
    assert result.returncode == 0, result.stderr
    example = open(EXAMPLE).read()
    keys = [line.split()[0] for line in run("config", "show").stdout.splitlines()[1:]]
    assert len(keys) > 30
    for key in keys:
        *section, name = key.split(".")
        pattern = (rf"^#? ?{section[0]}:\n(?:(?:  |#|\n).*\n)*?  #? ?{name}:" if section else rf"^#? ?{name}:")
        assert re.search(pattern, example, re.M), f"{key} is not in the example"


def test_every_problem_is_one_line_naming_its_key(folder):
    path = write(os.path.join(folder, "bad.yaml"), "\n".join([
        "listen: 127.0.0.1:99999",
        "limits:",
        "  max_connections: 0",
        "  max_conections: 5",
        "  max_in_flight: many",
        "timeouts:",
        "  idle: soon",
        "log:",
        "  level: loud",
        "tls:",
        f"  cert_file: {folder}/missing.pem",
        f"  key_file: {folder}/missing.key",
        "links:",
        "  max_lifetime: 36501d",
        "mail:",
        "  smtp: smtp://mailer:Hunter2-smtp@mail.example.com:587",
    ]) + "\n")
    result = run("config", "check", path)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    expected = {
        "listen": "takes HOST:PORT", "limits.max_connections": "takes 1 to 1000000",
        "limits.max_conections": "is not a setting", "limits.max_in_flight": "wrong type",
        "timeouts.idle": "takes a duration", "log.level": "takes trace, debug", "tls.cert_file": "cannot be read",
        "tls.key_file": "cannot be read", "links.max_lifetime": "at most 36500d", "mail.smtp": "holds an account",
    }
    for key, reason in expected.items():
        assert any(f"bad.yaml: {key}: " in line and reason in line for line in lines), (key, lines)
    assert len(lines) == len(expected), lines
    assert "Hunter2-smtp" not in result.stderr


@pytest.mark.parametrize("name,text,reason", [
    ("syntax.yaml", "a: b: c\n", "is not valid YAML"),
    ("syntax.json", '{"listen": ', "is not valid JSON"),
    ("list.yaml", "- listen\n", "mapping of keys"),
    ("kind.toml", "listen = 1\n", "neither .json nor .yaml"),
    ("type.json", '{"limits": {"max_connections": "12"}}', "limits.max_connections: has the wrong type"),
    ("nested.json", '{"listen": {"host": "x"}}', "listen.host: is not a setting"),
])
def test_a_broken_file_is_named_with_its_reason(folder, name, text, reason):
    result = run("config", "check", write(os.path.join(folder, name), text))
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1 and reason in result.stderr, result.stderr
    assert run("config", "check", os.path.join(folder, "absent.yaml")).stderr.count("cannot be read") == 1


def test_precedence_flag_over_environment_over_file_over_default(folder):
    path = write(os.path.join(folder, "c.json"), json.dumps({"limits": {"max_connections": 11, "max_in_flight": 12},
                                                             "timeouts": {"idle": "7m"}}))
    shown = run("config", "show", "--config", path, env={"PORTAL_LINKS_MAX_IN_FLIGHT": "22"})
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in shown.stdout.splitlines()[1:]}
    assert rows["limits.max_connections"][0] == "11"
    assert rows["limits.max_connections"][1].endswith("c.json: limits.max_connections")
    assert rows["limits.max_in_flight"] == ["22", "PORTAL_LINKS_MAX_IN_FLIGHT"]
    assert rows["timeouts.idle"][0] == "7m"
    assert rows["timeouts.frame"] == ["10s", "default"]
    # serve: the address it listens on comes from the flag, else the environment, else the file.
    ports = [free_port() for _ in range(3)]
    write(path, json.dumps({"listen": f"127.0.0.1:{ports[0]}", "http": {"listen": "none"}}))
    for arguments, env, port in [
        (["--listen", f"127.0.0.1:{ports[2]}"], {"PORTAL_LINKS_LISTEN": f"127.0.0.1:{ports[1]}"}, ports[2]),
        ([], {"PORTAL_LINKS_LISTEN": f"127.0.0.1:{ports[1]}"}, ports[1]),
        ([], {}, ports[0]),
    ]:
        server = Serve(folder, "--config", path, *arguments, env=env)
        try:
            server.wait_for(rf"listening on \S*127\.0\.0\.1:{port}\b")
        finally:
            server.stop()


def test_secrets_stay_out_of_readable_files_and_of_every_output(folder):
    password = "s3cret-Pa55word-in-url"
    store = f"postgres://portal:{password}@127.0.0.1:1/portal"
    readable = write(os.path.join(folder, "store.yaml"), f"store:\n  url: {store}\n", mode=0o644)
    refused = run("config", "check", readable)
    assert refused.returncode == 1 and "store.url: holds a password in a file others can read" in refused.stderr
    assert password not in refused.stderr + refused.stdout
    os.chmod(readable, 0o600)
    accepted = run("config", "check", readable)
    shown = run("config", "show", "--config", readable)
    assert accepted.returncode == 0 and shown.returncode == 0, accepted.stderr + shown.stderr
    assert "redacted" in shown.stdout
    # serve cannot reach that database: its error names it, never the password.
    failed = run("serve", "--config", readable, "--http", "none", env={"PORTAL_LINKS_HOME": os.path.join(folder, "home")})
    assert failed.returncode != 0 and len(failed.stderr.strip().splitlines()) == 1
    for output in [accepted, shown, failed]:
        assert password not in output.stdout + output.stderr
    # Secret files must be their owner's alone, and their contents are never echoed.
    key = "ab" * 32
    key_file = write(os.path.join(folder, "master.key"), key + "\n", mode=0o640)
    config = write(os.path.join(folder, "key.yaml"), f"master_key_file: {key_file}\n")
    for output in [run("config", "check", config), run("serve", "--config", config, env={"PORTAL_LINKS_HOME": os.path.join(folder, "home2")})]:
        assert output.returncode != 0 and "master_key_file: names a file others can read" in output.stderr, output.stderr
        assert key not in output.stdout + output.stderr


def test_the_master_key_file_seals_a_new_home(folder):
    key = "cd" * 32
    key_file = write(os.path.join(folder, "master.key"), key + "\n")
    config = write(os.path.join(folder, "c.yaml"), f"master_key_file: {key_file}\nhttp:\n  listen: none\nlisten: 127.0.0.1:0\n")
    server = Serve(folder, "--config", config)
    try:
        server.wait_for("listening on")
    finally:
        server.stop()
    home = os.path.join(folder, "home")
    assert not os.path.exists(os.path.join(home, "master.key")), "the key came from the file, not a new one in the home"
    listed = run("keys", "list", env={"PORTAL_LINKS_HOME": home, "PORTAL_LINKS_MASTER_KEY": key})
    assert listed.returncode == 0, listed.stderr
    wrong = run("keys", "list", env={"PORTAL_LINKS_HOME": home, "PORTAL_LINKS_MASTER_KEY": "ef" * 32})
    assert wrong.returncode != 0


# --- reloads ---------------------------------------------------------------------------------------------------

def verify(connection, key, token):
    connection.request("POST", "/portal_links.v1.Links/Verify", body=json.dumps({"token": token}),
                       headers={"content-type": "application/json", "authorization": f"Bearer {key}"})
    answer = connection.getresponse()
    body = answer.read()
    assert answer.status == 200, body
    return json.loads(body)


def test_sighup_replaces_the_certificate_for_new_connections_only(folder):
    first, second = certificate(folder, "first"), certificate(folder, "second")
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    shutil.copy(first[0], cert)
    shutil.copy(first[1], key)
    binary, gateway = free_port(), free_port()
    config = write(os.path.join(folder, "c.yaml"), "\n".join([
        f"listen: 127.0.0.1:{binary}", "http:", f"  listen: 127.0.0.1:{gateway}",
        "tls:", f"  cert_file: {cert}", f"  key_file: {key}", "log:", "  level: notice"]) + "\n")
    server = Serve(folder, "--config", config)
    try:
        server.wait_for("listening on")
        api_key = re.search(r"API key \(shown once\): (\S+)", server.out).group(1)
        token = re.search(r"sample link to verify: (\S+)", server.out).group(1)
        assert served_subject(binary) == "first" and served_subject(gateway) == "first"
        trusted = ssl.create_default_context(cafile=first[0])
        established = http.client.HTTPSConnection("127.0.0.1", gateway, context=trusted, timeout=10)
        assert verify(established, api_key, token)["valid"] is True
        socket_before = established.sock

        # certbot renews: new files in place, then SIGHUP.
        shutil.copy(second[0], cert)
        shutil.copy(second[1], key)
        mark = len(server.log)
        server.process.send_signal(signal.SIGHUP)
        server.wait_for(r"reloaded: TLS certificate and key read again", after=mark)
        assert served_subject(binary) == "second" and served_subject(gateway) == "second"
        assert verify(established, api_key, token)["valid"] is True
        assert established.sock is socket_before, "the established connection was kept, not reopened"

        # A broken certificate, or a key that is not the certificate's, is refused and the current one stays.
        for broken_cert, broken_key in [("garbage\n", None), (None, first[1])]:
            if broken_cert:
                write(cert, broken_cert)
            else:
                shutil.copy(second[0], cert)
                shutil.copy(broken_key, key)
            mark = len(server.log)
            server.process.send_signal(signal.SIGHUP)
            line = server.wait_for(r"reload refused, the current settings stay: [^\n]*", after=mark).group(0)
            assert "cert.pem" in line
            assert served_subject(binary) == "second"
            assert verify(established, api_key, token)["valid"] is True
        assert server.process.poll() is None
        # Past the PKCS#8 header every P-256 key shares, no piece of either private key's body is in the log.
        for private in [first[1], second[1]]:
            body = "".join(open(private).read().split("-----")[2].split())
            assert all(body[i:i + 24] not in server.log for i in range(36, len(body) - 24, 8))
    finally:
        server.stop()


def test_a_changed_file_reloads_limits_and_log_level_and_names_what_needs_a_restart(folder):
    binary = free_port()
    # Connections that never say Hello are closed after timeouts.frame: long enough for the test.
    lines = [f"listen: 127.0.0.1:{binary}", "http:", "  listen: none", "timeouts:", "  frame: 60s", "log:", "  level: notice"]
    config = write(os.path.join(folder, "c.yaml"), "\n".join(lines) + "\n")
    server = Serve(folder, "--config", config)
    try:
        server.wait_for("listening on")
        assert "[PortalLinksService] listening" not in server.log, "info lines are not logged at notice"
        held = [socket.create_connection(("127.0.0.1", binary), timeout=5) for _ in range(3)]
        mark = len(server.log)
        # threads needs a restart; a bad hashing.queue would fail one, and does not stop what a reload applies.
        write(config, "\n".join(lines[:-1] + ["  level: info", "limits:", "  max_connections: 3", "threads: 1",
                                              "hashing:", "  queue: -5"]) + "\n")
        server.wait_for(r"reloaded: changed: limits\.max_connections, log\.level", seconds=20, after=mark)
        server.wait_for(r"only a restart applies them: threads, hashing\.queue", after=mark)
        server.wait_for(r"a restart would fail: \S*c\.yaml: hashing\.queue: takes 0 to 100000", after=mark)
        # A fourth connection is refused now; the three open ones stay.
        extra = socket.create_connection(("127.0.0.1", binary), timeout=5)
        extra.settimeout(5)
        assert extra.recv(1) == b"", "the fourth connection is closed at once"
        server.wait_for(r"refusing a connection", after=mark)
        for connection in held:
            connection.settimeout(0.2)
            with pytest.raises(socket.timeout):
                connection.recv(1)
        # A file that no longer parses is refused; the server keeps going with what it had.
        mark = len(server.log)
        write(config, "limits: [\n")
        server.wait_for(r"reload refused, the current settings stay: \S*c\.yaml: is not valid YAML", seconds=20, after=mark)
        assert server.process.poll() is None
        for connection in held + [extra]:
            connection.close()
    finally:
        server.stop()
    assert "[PortalLinksService] draining" in server.log, "info lines are logged after the reload to info"


def test_a_flag_still_wins_after_a_reload_and_none_turns_off_what_the_file_sets(folder):
    binary, metrics = free_port(), free_port()
    lines = [f"listen: 127.0.0.1:{binary}", "http:", "  listen: none", "metrics:", f"  listen: 127.0.0.1:{metrics}",
             "timeouts:", "  frame: 60s", "limits:", "  max_connections: 50"]
    config = write(os.path.join(folder, "c.yaml"), "\n".join(lines) + "\n")
    shown = run("config", "show", "--config", config, env={"PORTAL_LINKS_METRICS": "none"})
    assert re.search(r"^metrics\.listen +- \(none\) +PORTAL_LINKS_METRICS$", shown.stdout, re.M), shown.stdout
    server = Serve(folder, "--config", config, "--max-connections", "2", "--metrics", "none")
    try:
        server.wait_for("listening on")
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", metrics), timeout=2).close()
        held = [socket.create_connection(("127.0.0.1", binary), timeout=5) for _ in range(2)]
        mark = len(server.log)
        write(config, "\n".join(lines[:-1] + ["  max_connections: 60"]) + "\n")
        server.process.send_signal(signal.SIGHUP)
        server.wait_for(r"reloaded, nothing changed", seconds=20, after=mark)
        extra = socket.create_connection(("127.0.0.1", binary), timeout=5)
        extra.settimeout(5)
        assert extra.recv(1) == b"", "--max-connections 2 still holds after the file said 60"
        for connection in held + [extra]:
            connection.close()
    finally:
        server.stop()


def test_the_environment_secret_wins_over_the_files_secret_file(folder):
    from_file, from_environment = "ab" * 32, "cd" * 32
    key_file = write(os.path.join(folder, "master.key"), from_file + "\n")
    config = write(os.path.join(folder, "c.yaml"), f"master_key_file: {key_file}\nhttp:\n  listen: none\nlisten: 127.0.0.1:0\n")
    server = Serve(folder, "--config", config, env={"PORTAL_LINKS_MASTER_KEY": from_environment})
    try:
        server.wait_for("listening on")
    finally:
        server.stop()
    home = os.path.join(folder, "home")
    assert run("keys", "list", env={"PORTAL_LINKS_HOME": home, "PORTAL_LINKS_MASTER_KEY": from_environment}).returncode == 0
    assert run("keys", "list", env={"PORTAL_LINKS_HOME": home, "PORTAL_LINKS_MASTER_KEY": from_file}).returncode != 0


def test_staff_commands_with_the_servers_configuration_reach_its_store(folder):
    key_file = write(os.path.join(folder, "master.key"), "ef" * 32 + "\n")
    store = os.path.join(folder, "data", "links.sqlite")
    os.makedirs(os.path.dirname(store))
    config = write(os.path.join(folder, "c.yaml"), "\n".join([
        f"home: {folder}/server-home", "store:", f"  url: sqlite:{store}", f"master_key_file: {key_file}",
        "listen: 127.0.0.1:0", "http:", "  listen: none"]) + "\n")
    server = Serve(folder, "--config", config)
    try:
        server.wait_for("listening on")
    finally:
        server.stop()
    # With PORTAL_LINKS_CONFIG, a staff command opens the server's store with the server's master key.
    staff = run("keys", "list", "--json", env={"PORTAL_LINKS_CONFIG": config, "PORTAL_LINKS_HOME": os.path.join(folder, "elsewhere")})
    assert staff.returncode == 0, staff.stderr
    assert len(json.loads(staff.stdout)) == 1, staff.stdout
    # --store still wins over the file.
    other = run("keys", "list", "--store", f"sqlite:{folder}/other.sqlite", env={"PORTAL_LINKS_CONFIG": config})
    assert other.returncode == 0 and os.path.exists(f"{folder}/other.sqlite"), other.stderr
