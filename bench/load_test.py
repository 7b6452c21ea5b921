"""Load test of the shared server: N browser sessions at once, each generates data and trains.

Starts the app as `make serve` does (deploy/.streamlit/config.toml) on 127.0.0.1, opens N
headless chromium sessions (at the lowest CPU priority) that each open the Data page, then
train the three losses for a few epochs, while a thread polls the health endpoint and samples
the memory of the server and its workers. Prints, per N: time to the first training chart
(from opening the app, and from the click on Start) and to completion per session, health
latency p50/p95/max, errors, and peak memory. Local traffic only; every loop is bounded.

    python -m bench.load_test --sessions 1 4 8 [--epochs 3]
"""

import argparse
import asyncio
import os
import re
import statistics
import threading
import time
import urllib.request
from pathlib import Path

from playwright.async_api import async_playwright

from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, ROOT, descendants, free_port, start_server, stop_server

SESSION_TIMEOUT_S = 600


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    total = 0.0
    for current in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


class Monitor(threading.Thread):
    """Polls /_stcore/health every 100 ms and samples memory, until stopped."""

    def __init__(self, port: int, pid: int):
        super().__init__(daemon=True)
        self.port, self.pid = port, pid
        self.latencies: list[float] = []
        self.failures = 0
        self.peak_mb = 0.0
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.1):
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stcore/health", timeout=5) as answer:
                    answer.read()
                self.latencies.append(time.perf_counter() - start)
            except OSError:
                self.failures += 1
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))


async def one_session(browser, url: str, epochs: int, index: int) -> dict:
    """Open the app, load data, train, wait for the end; times in seconds from the first request."""
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(SESSION_TIMEOUT_S * 1000)
    start = time.perf_counter()
    result = {"session": index, "first_chart_s": None, "start_to_chart_s": None, "done_s": None, "error": None}
    try:
        await page.goto(f"{url}/data?n=100&seed={index}")
        await page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        await page.get_by_role("link", name="Train").click()
        epochs_box = page.get_by_role("spinbutton", name="Epochs", exact=True)
        await epochs_box.fill(str(epochs))
        await epochs_box.press("Tab")
        clicked = time.perf_counter()
        await page.get_by_role("button", name="Start training").click()
        await page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        result["first_chart_s"] = time.perf_counter() - start
        result["start_to_chart_s"] = time.perf_counter() - clicked
        await page.get_by_text(re.compile(r"Run #\d+ done after")).wait_for()
        result["done_s"] = time.perf_counter() - start
        if await page.locator('[data-testid="stException"]').count():
            result["error"] = "exception shown"
    except Exception as error:  # counted and printed, the other sessions go on
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        await page.screenshot(path=str(ARTIFACTS / f"load-session-{index}.png"))
    await context.close()
    return result


def lowest_priority_for_browsers() -> None:
    """Renice every chromium process below this one to 19: the browsers stand in for remote
    visitors, whose machines are not the server's (their renderers inherit the niceness)."""
    for pid in descendants(os.getpid()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip().startswith("chrom"):
                os.setpriority(os.PRIO_PROCESS, pid, 19)
        except OSError:
            pass


async def load(url: str, sessions: int, epochs: int) -> list[dict]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        lowest_priority_for_browsers()
        results = await asyncio.gather(*(one_session(browser, url, epochs, i) for i in range(sessions)))
        await browser.close()
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    server = start_server(port, {"DILATE_RUNS_IN_TOTAL": "64"}, cwd=ROOT / "deploy", script="../app.py")
    workers = os.environ.get("DILATE_WORKERS", "the cores")
    print(f"{os.cpu_count()} cores; workers: {workers}; {args.epochs} epochs of 100 series per session")
    header = "   N | first chart s (med/max) | Start to chart s (med/max) |  done s (med/max) "
    header += "| health ms p50/p95/max | errors | peak MB"
    print(header)
    print("-" * len(header))
    try:
        for n in args.sessions:
            monitor = Monitor(port, server.pid)
            monitor.start()
            results = asyncio.run(load(f"http://127.0.0.1:{port}", n, args.epochs))
            monitor.done.set()
            monitor.join()
            first = [r["first_chart_s"] for r in results if r["first_chart_s"] is not None]
            done = [r["done_s"] for r in results if r["done_s"] is not None]
            start_to_chart = [r["start_to_chart_s"] for r in results if r["start_to_chart_s"] is not None]
            errors = [r["error"] for r in results if r["error"]] + ["health"] * monitor.failures
            ms = [1e3 * v for v in monitor.latencies]
            nan = float("nan")
            cells = [
                f"{statistics.median(first) if first else nan:>11.1f} / {max(first, default=nan):>9.1f}",
                f"{statistics.median(start_to_chart) if start_to_chart else nan:>14.2f} / "
                f"{max(start_to_chart, default=nan):>9.2f}",
                f"{statistics.median(done) if done else nan:>7.1f} / {max(done, default=nan):>7.1f}",
                f"{percentile(ms, 0.5):>6.1f} / {percentile(ms, 0.95):>6.1f} / {max(ms, default=nan):>6.1f}",
                f"{len(errors):>6}",
                f"{monitor.peak_mb:>7.0f}",
            ]
            print(f"{n:>4} | " + " | ".join(cells), flush=True)
            for error in errors[:3]:
                print(f"       error: {error}")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
