"""The HTML reports of a merge and of a comparison rendered by a real browser (Debian's chromium, headless) and
read back from its screenshot: three charts, each with its frame drawn and lines plotted across it in the runs'
colours. PORTAL_LINKS_SCREENSHOTS=DIR keeps the screenshots there, to look at."""
import os
import shutil
import subprocess
import tempfile

import pytest
from PIL import Image

# BenchReport.colors, in the order of the entries: merged (or baseline), then each generator (or candidate).
COLORS = [(0x1F, 0x6F, 0xEB), (0xD1, 0x24, 0x2F), (0x1A, 0x7F, 0x37)]
FRAME_WIDTH = 754  # SVGChart: 860 wide, less its 70 + 36 margins


def screenshot(page, name):
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed (IntegrationTests/bench.sh installs it)"
    with tempfile.TemporaryDirectory() as profile:
        path = os.path.join(profile, f"{name}.png")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                        "--no-first-run", f"--user-data-dir={profile}", "--window-size=1024,4000", f"--screenshot={path}",
                        "file://" + page], check=True, capture_output=True, timeout=120)
        image = Image.open(path).convert("RGB")
        if os.environ.get("PORTAL_LINKS_SCREENSHOTS"):
            shutil.copy(path, os.environ["PORTAL_LINKS_SCREENSHOTS"])
    return image


def frame_lines(image):
    """Rows holding a grey run at least 600 px long: the top and bottom of each chart's plot frame (#999, which
    anti-aliasing may spread over two rows, drawn as one), as (row, first x, last x)."""
    width, height = image.size
    pixels = image.load()
    lines = []
    for y in range(height):
        run_start, best = None, (0, 0, 0)
        for x in range(width):
            r, g, b = pixels[x, y]
            if abs(r - g) < 8 and abs(g - b) < 8 and 130 <= r <= 215:
                if run_start is None:
                    run_start = x
                if x - run_start + 1 > best[0]:
                    best = (x - run_start + 1, run_start, x)
            else:
                run_start = None
        if best[0] >= 600:
            if lines and lines[-1][0] == y - 1:
                continue
            lines.append((y, best[1], best[2]))
    return lines


def near(pixel, color, tolerance=60):
    return sum((a - b) ** 2 for a, b in zip(pixel, color)) <= tolerance ** 2


def charts(image):
    """Each chart's plot frame as (top, bottom, left, right): frame lines paired in order."""
    lines = frame_lines(image)
    assert len(lines) % 2 == 0, f"unpaired frame lines: {lines}"
    return [(top[0], bottom[0], top[1], top[2]) for top, bottom in zip(lines[::2], lines[1::2])]


@pytest.mark.parametrize("page,entries", [("merged", 3), ("compared", 2)])
def test_every_chart_is_drawn_with_its_lines(runs, page, entries):
    image = screenshot(runs.pages[page], page)
    frames = charts(image)
    assert len(frames) == 3, f"{page}: expected the percentile spectrum, throughput and p50/p99 charts, found frames {frames}"
    pixels = image.load()
    for top, bottom, left, right in frames:
        assert abs((right - left) - FRAME_WIDTH) <= 3 and bottom - top > 200, (top, bottom, left, right)
        colored = {index: [] for index in range(entries)}
        for y in range(top + 1, bottom):
            for x in range(left + 1, right):
                for index in range(entries):
                    if near(pixels[x, y], COLORS[index]):
                        colored[index].append(x)
        # Every run has its colour in the chart (its line, or at least its legend where another run's line
        # covers it), and the lines run across the chart, not only the legend's short samples.
        for index, xs in colored.items():
            assert len(xs) >= 20, f"{page}: run {index}'s colour is missing from the chart at rows {top}-{bottom}"
        every = [x for xs in colored.values() for x in xs]
        assert max(every) - min(every) >= 0.3 * (right - left), f"{page}: no line across the chart at rows {top}-{bottom}"
