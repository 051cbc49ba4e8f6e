"""Two load generators run side by side against one server, their runs merged and compared (JSON and HTML):
what the tests in this folder read."""
import json
import os
import socket
import subprocess
import tempfile
import time
from types import SimpleNamespace

import pytest

BIN = os.environ["PORTAL_LINKS_BIN"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def runs():
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, PORTAL_LINKS_HOME=home)
        key = subprocess.run([BIN, "callers", "add", "loadtest", "--scopes", "verify"], env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        port = free_port()
        server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--http", "none", "--log-level", "warning"],
                                  env=env, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            bench = [BIN, "bench", "--connect", f"127.0.0.1:{port}", "--api-key", key, "-c", "2", "-z", "2s",
                     "--warmup", "0s", "--threads", "1", "--mix", "valid=80,forged=20", "--format", "json"]
            generators = [subprocess.Popen(bench, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                          for _ in range(2)]
            outputs = [generator.communicate(timeout=60)[0] for generator in generators]
            assert all(generator.returncode == 0 for generator in generators)
            paths = []
            for index, output in enumerate(outputs):
                path = os.path.join(home, f"run-{index}.json")
                with open(path, "w") as file:
                    file.write(output)
                paths.append(path)
            pages = {name: os.path.join(home, f"{name}.html") for name in ("merged", "compared")}
            merged = subprocess.run([BIN, "bench", "merge", *paths, "--format", "json", "--html", pages["merged"]], env=env,
                                    check=True, capture_output=True, text=True).stdout
            compared = subprocess.run([BIN, "bench", "compare", *paths, "--html", pages["compared"]], env=env, check=True,
                                      capture_output=True, text=True).stdout
            yield SimpleNamespace(results=[json.loads(output) for output in outputs], merged=json.loads(merged),
                                  compared=compared, pages=pages)
        finally:
            server.terminate()
            server.wait(timeout=30)
