"""Two load generators run side by side against one server, and their results merged, read by HdrHistogram_py
(the reference Python implementation): what bench writes is a standard HdrHistogram, and its merge is the
histogram of every call."""
import pytest
from hdrh.histogram import HdrHistogram


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
    results = runs.results
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
    results, merged = runs.results, runs.merged
    everything = HdrHistogram.decode(results[0]["histogram"])
    everything.add(HdrHistogram.decode(results[1]["histogram"]))
    ours = HdrHistogram.decode(merged["histogram"])
    assert ours.get_total_count() == everything.get_total_count() == results[0]["requests"] + results[1]["requests"]
    for percentile in [0, 50, 90, 99, 99.9, 99.99, 100]:
        assert ours.get_value_at_percentile(percentile) == everything.get_value_at_percentile(percentile), percentile
    assert merged["requests_per_second"] == pytest.approx(results[0]["requests_per_second"] + results[1]["requests_per_second"], abs=1)
    assert len(merged["generators"]) == 2 and merged["connections"] == 4


def test_compare_puts_the_runs_side_by_side(runs):
    compared = runs.compared
    lines = compared.splitlines()
    assert lines[1].startswith("throughput requests/s")
    assert [line.split()[0] for line in lines[2:8]] == ["p50", "p90", "p99", "p99.9", "p99.99", "p99.999"]
