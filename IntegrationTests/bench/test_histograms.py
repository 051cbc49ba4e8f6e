"""Two load generators run side by side against one server, and their results merged, read by HdrHistogram_py
(the reference Python implementation): what bench writes is a standard HdrHistogram, and its merge is the
histogram of every call."""
import json
import os
import socket
import subprocess
import tempfile
import time

import pytest
from hdrh.histogram import HdrHistogram

BIN = os.environ["PORTAL_LINKS_BIN"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
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
            merged = subprocess.run([BIN, "bench", "merge", *paths, "--format", "json"], env=env, check=True,
                                    capture_output=True, text=True).stdout
            compared = subprocess.run([BIN, "bench", "compare", *paths], env=env, check=True, capture_output=True, text=True).stdout
            yield [json.loads(output) for output in outputs], json.loads(merged), compared
        finally:
            server.terminate()
            server.wait(timeout=30)


def agrees(histogram, ours_us, percentile):
    """Ours is HdrHistogram_py's value at the percentile, or at most one call either side of it: implementations
    round the rank of a percentile differently (Java and Swift up, Python to nearest), and in a sparse tail the
    neighbouring call can be a few percent away."""
    ours = histogram.get_lowest_equivalent_value(round(ours_us * 1000))
    one_call = 100 / histogram.get_total_count()
    low = histogram.get_lowest_equivalent_value(histogram.get_value_at_percentile(max(0, percentile - one_call)))
    high = histogram.get_value_at_percentile(min(100, percentile + one_call))
    return low <= ours <= high


def test_each_run_is_a_standard_histogram_of_its_calls(runs):
    results, _, _ = runs
    for result in results:
        histogram = HdrHistogram.decode(result["histogram"])
        assert histogram.get_total_count() == result["requests"] > 0
        for name, percentile in [("p50", 50), ("p90", 90), ("p99", 99)]:
            assert agrees(histogram, result["latency_us"][name], percentile), name
        # Every second's histogram too, and together they are the run's.
        seconds = [HdrHistogram.decode(second["histogram"]) for second in result["seconds"]]
        assert sum(second.get_total_count() for second in seconds) == result["requests"]
        assert [second.get_total_count() for second in seconds] == [second["requests"] for second in result["seconds"]]


def test_the_merge_is_the_histogram_of_every_call(runs):
    results, merged, _ = runs
    everything = HdrHistogram.decode(results[0]["histogram"])
    everything.add(HdrHistogram.decode(results[1]["histogram"]))
    ours = HdrHistogram.decode(merged["histogram"])
    assert ours.get_total_count() == everything.get_total_count() == results[0]["requests"] + results[1]["requests"]
    for percentile in [0, 50, 90, 99, 99.9, 99.99, 100]:
        assert ours.get_value_at_percentile(percentile) == everything.get_value_at_percentile(percentile), percentile
    assert merged["requests_per_second"] == pytest.approx(results[0]["requests_per_second"] + results[1]["requests_per_second"], abs=1)
    assert len(merged["generators"]) == 2 and merged["connections"] == 4


def test_compare_puts_the_runs_side_by_side(runs):
    _, _, compared = runs
    lines = compared.splitlines()
    assert lines[1].startswith("throughput requests/s")
    assert [line.split()[0] for line in lines[2:8]] == ["p50", "p90", "p99", "p99.9", "p99.99", "p99.999"]
