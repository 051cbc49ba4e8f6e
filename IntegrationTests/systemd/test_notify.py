"""`portal-links serve` as a Type=notify service: the unit verifies, and serve speaks the NOTIFY_SOCKET protocol
(READY=1 once its port accepts, watchdog pings at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM)."""
import os
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.environ["PORTAL_LINKS_BIN"]
UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "dist", "portal-links.service")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_unit_verifies():
    with tempfile.TemporaryDirectory() as folder:
        unit = os.path.join(folder, "portal-links.service")
        with open(UNIT) as source, open(unit, "w") as copy:
            copy.write(source.read().replace("/usr/local/bin/portal-links", os.path.abspath(BIN)))
        result = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def serve(folder, output=subprocess.DEVNULL, **extra):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(os.path.join(folder, "notify"))
    notify.settimeout(0.05)
    port = free_port()
    env = dict(os.environ, PORTAL_LINKS_HOME=os.path.join(folder, "home"), NOTIFY_SOCKET=os.path.join(folder, "notify"), **extra)
    process = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--http", "none", "--log-level", "warning"],
                               env=env, stdout=output, stderr=output)
    return notify, port, process


def receive(notify, seconds):
    """Every datagram within `seconds`, with the time each arrived."""
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            got.append((time.monotonic(), notify.recv(4096).decode()))
        except socket.timeout:
            pass
    return got


def until(notify, prefix, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = notify.recv(4096).decode()
        except socket.timeout:
            continue
        if message.startswith(prefix):
            return message
    raise AssertionError(f"no {prefix} within {seconds} s")


def test_ready_watchdog_and_stopping():
    with tempfile.TemporaryDirectory() as folder:
        notify, port, process = serve(folder, WATCHDOG_USEC="300000")
        try:
            ready = until(notify, "READY=1")
            assert f"STATUS=listening on" in ready
            socket.create_connection(("127.0.0.1", port), timeout=1).close()  # READY means the port accepts
            pings = [message for _, message in receive(notify, 1.5) if message == "WATCHDOG=1"]
            assert 6 <= len(pings) <= 16, f"pings every 150 ms for 1.5 s: {len(pings)}"
            process.send_signal(signal.SIGTERM)
            assert until(notify, "STOPPING=1", seconds=20)
            assert process.wait(timeout=30) == 0
        finally:
            process.kill()
            process.wait()


def test_no_watchdog_pings_unless_asked_of_this_process():
    with tempfile.TemporaryDirectory() as folder:
        notify, _, process = serve(folder, WATCHDOG_USEC="100000", WATCHDOG_PID="1")
        try:
            until(notify, "READY=1")
            assert [m for _, m in receive(notify, 0.6) if m == "WATCHDOG=1"] == []
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_no_secret_reaches_the_journal_on_a_first_start():
    """Under systemd standard output is the journal ($JOURNAL_STREAM): a new home gets no 'local' caller, and
    neither its key nor a sample link is printed; the log says how to add a caller."""
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "journal"), "w+") as journal:
            notify, _, process = serve(folder, output=journal, JOURNAL_STREAM="8:12345")
            try:
                until(notify, "READY=1")
            finally:
                process.terminate()
                process.wait(timeout=30)
            journal.seek(0)
            text = journal.read()
        assert "callers add" in text and "API key" not in text and "sample link" not in text, text
        listed = subprocess.run([BIN, "callers", "list"], env=dict(os.environ, PORTAL_LINKS_HOME=os.path.join(folder, "home")),
                                capture_output=True, text=True)
        assert "local" not in listed.stdout, listed.stdout
