"""Load test of the shared server: N browser sessions at once, each generates data and trains.

Starts the app as `make serve` does (deploy/.streamlit/config.toml) on 127.0.0.1, with a
limit of runs in total (default 8, so that N = 16 is twice it), opens N headless chromium
sessions (at the lowest CPU priority unless --browser-nice says otherwise) that each open the
Data page with the paper's 500 series and the Train page, then all press Start at once to
train the three losses for a few epochs (after one untimed visit, as a server that has been
up a while has had; --cold skips it), while a process of its own polls the health endpoint and
a thread samples the memory of the server and its workers.
Prints, per N: time to the first training chart (from the click on Start to the chart drawn,
timed in the page; and from opening the app) per session and as median/max, time to
completion, health latency p50/p95/max (and, per phase, until and after the last Start),
sessions refused (the limit's message) and queued (told their place), errors, peak memory,
and memory once every tab has closed and the server has ended their sessions. Local traffic
only; every loop is bounded.

Run it on an otherwise idle machine: at niceness 19 (their scheduling group's too) the browsers
get almost no CPU while anything else runs, and with three background jobs busy here the
sessions crawled past the timeouts. --browser-nice 0 is the protocol for a busy machine.

With --proxy the browsers go through nginx, configured from deploy/nginx.conf.template as the
compose file deploys it (nginx serves the front end's static files); health is still probed on
the Python server itself.

    python -m bench.load_test --sessions 1 4 8 16 [--epochs 3] [--series 500] [--runs-in-total 8] [--proxy]
"""

import argparse
import asyncio
import multiprocessing
import os
import re
import statistics
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

from playwright.async_api import async_playwright

from tests.browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    ROOT,
    free_port,
    start_proxy,
    start_server,
    stop_server,
)
from tests.proc import descendants

SESSION_TIMEOUT_S = 600
CHART = '[data-testid="stPlotlyChart"]'
# the server ends a closed tab's session this long after its websocket closed
SESSION_TTL_S = tomllib.loads((ROOT / "deploy/.streamlit/config.toml").read_text())["server"]["disconnectedSessionTTL"]


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


def probe_health(port: int, done, answers) -> None:
    """Asks /_stcore/health every 100 ms until `done` is set, then sends back (sent, latency)
    pairs in seconds (sent on the system-wide monotonic clock) and the count of failures. Runs
    in its own process, as a load balancer's probe would: in this one, the browsers' driver
    holds the GIL often enough to add hundreds of milliseconds to a request's measured time."""
    timings, failures = [], 0
    while not done.wait(0.1):
        sent = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as answer:
                answer.read()
            timings.append((sent, time.monotonic() - sent))
        except OSError:
            failures += 1
    answers.send((timings, failures))


class Monitor(threading.Thread):
    """Samples the memory of the server and its workers, and probes health from a process of its
    own, until stopped."""

    def __init__(self, port: int, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.latencies: list[float] = []
        self.started: list[float] = []  # when each of those requests was sent (time.monotonic)
        self.failures = 0
        self.peak_mb = 0.0
        spawn = multiprocessing.get_context("spawn")  # not a fork of this process and its browser driver's threads
        self.done = spawn.Event()
        self.answers, answers = spawn.Pipe(duplex=False)
        self.prober = spawn.Process(target=probe_health, args=(port, self.done, answers), daemon=True)

    def run(self):
        self.prober.start()
        while not self.done.wait(0.1):
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))
        timings, self.failures = self.answers.recv()
        self.prober.join()
        self.started = [sent for sent, _ in timings]
        self.latencies = [latency for _, latency in timings]


# A queued run's message with its expected wait, or a refusal: what answers a Start without a chart.
ANSWERED = r"to wait\.|The server is busy"
# Times, in the page's own clock, the click on Start, the moment the first plotly chart of the
# run is drawn (its SVG is in the document: `drawn`) and the first answer of any kind (that chart,
# or the queue's message with the expected wait, or the server's refusal: `answered`). Measured in
# the page, not by polling it from here: each poll is a round trip to a browser that is busy
# drawing (at niceness 19, on busy cores), which added up to 0.6 s to what the visitor sees in a probe.
WATCH_FIRST_CHART = r"""() => {
    const marks = window.__firstChart = {};
    document.addEventListener("click", (event) => {
        if (marks.clicked === undefined && event.target.closest("button")?.innerText.includes("Start training"))
            marks.clicked = performance.now();
    }, true);
    new MutationObserver((changes, observer) => {
        if (marks.clicked === undefined) return;
        const chart = document.querySelector('[data-testid="stPlotlyChart"] .main-svg');
        if (marks.answered === undefined && (chart || /ANSWERED/.test(document.body.innerText)))
            marks.answered = performance.now();
        if (chart) {
            marks.drawn = performance.now();
            observer.disconnect();
        }
    }).observe(document.body, {childList: true, subtree: true, characterData: true});
}""".replace("ANSWERED", ANSWERED)


async def one_session(browser, url: str, epochs: int, series: int, index: int, ready: asyncio.Barrier) -> dict:
    """Open the app, load data, wait for every session to be ready, train, wait for the end;
    times in seconds from the first request."""
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(SESSION_TIMEOUT_S * 1000)
    start = time.monotonic()
    result = {"session": index, "first_chart_s": None, "start_to_chart_s": None, "done_s": None, "error": None}
    result |= {"refused": False, "queued": False, "clicked_at": None}
    try:
        await page.goto(f"{url}/data?n_series={series}&data_seed={index}")
        await page.locator(CHART).first.wait_for()
        await page.get_by_role("link", name="Train").click()
        epochs_box = page.get_by_role("spinbutton", name="Epochs", exact=True)
        await epochs_box.fill(str(epochs))
        await epochs_box.press("Tab")
        await page.evaluate(WATCH_FIRST_CHART)
        # the Data page's charts are gone (a slow browser can show them a while after the link)
        await page.wait_for_function(f"() => !document.querySelector('{CHART}')")
        await ready.wait()
        clicked = result["clicked_at"] = time.monotonic()
        await page.get_by_role("button", name="Start training").click()
        chart = page.locator(CHART).first
        refused = page.get_by_text("The server is busy")
        queued = page.get_by_text("Waiting for a free worker")
        while time.monotonic() - clicked < SESSION_TIMEOUT_S:
            result["queued"] = result["queued"] or await queued.count() > 0
            if await chart.count() or await refused.count():
                break
            await asyncio.sleep(0.05)
        if await refused.count():
            result["refused"] = True
        else:
            await page.wait_for_function("() => window.__firstChart.drawn !== undefined")
            marks = await page.evaluate("() => window.__firstChart")
            result["start_to_chart_s"] = (marks["drawn"] - marks["clicked"]) / 1000
            result["first_chart_s"] = clicked - start + result["start_to_chart_s"]
            await page.get_by_text(re.compile(r"Run #\d+ done after")).wait_for()
            result["done_s"] = time.monotonic() - start
        if await page.locator('[data-testid="stException"]').count():
            result["error"] = "exception shown"
    except Exception as error:  # counted and printed, the other sessions go on
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        await page.screenshot(path=str(ARTIFACTS / f"load-session-{index}.png"))
        if result["clicked_at"] is None:
            await ready.abort()  # the others would wait for this one forever
    await context.close()
    return result


def renice_browsers(niceness: int) -> None:
    """Renice every chromium process below this one (their renderers inherit it). At 19 the
    browsers stand in for remote visitors, whose machines are not the server's; but then, on
    a machine whose cores the training jobs fill, a browser gets a few percent of a core and
    draws late, which a remote visitor's would not: --browser-nice 0 shows that part.

    Chromium starts in a session of its own, and where the kernel groups the CPU by session
    (autogroup, on by default in Debian), a process's niceness ranks it only inside its group:
    the browsers' group took half the cores from the server's, whose main thread then waited
    up to 1.4 s to run (its schedstat, during a 0.95 s health request). The group's own
    niceness, in /proc/PID/autogroup, ranks it against the server's."""
    for pid in descendants(os.getpid()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip().startswith("chrom"):
                os.setpriority(os.PRIO_PROCESS, pid, niceness)
                autogroup = Path(f"/proc/{pid}/autogroup")
                if autogroup.exists():
                    autogroup.write_text(str(niceness))
        except OSError:
            pass


async def first_visit(url: str) -> None:
    """One visit, untimed, as a server that has been up a while has had: it loads the kernels and
    starts the pool with its spare worker."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = await browser.new_page()
        await page.goto(f"{url}/data")
        await page.locator(CHART).first.wait_for(timeout=SESSION_TIMEOUT_S * 1000)
        await browser.close()


async def load(url: str, sessions: int, epochs: int, series: int, niceness: int) -> list[dict]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        renice_browsers(niceness)
        # Every session presses Start at once, however fast its browser opened the app: N visitors
        # train together, as remote visitors with browsers of their own would.
        ready = asyncio.Barrier(sessions)
        sessions_run = (one_session(browser, url, epochs, series, i, ready) for i in range(sessions))
        results = await asyncio.gather(*sessions_run)
        await browser.close()
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def median_max(values: list[float], digits: int) -> str:
    if not values:
        return "- / -"
    return f"{statistics.median(values):.{digits}f} / {max(values):.{digits}f}"


def health_by_phase(monitor: Monitor, results: list[dict]) -> str:
    """Health latency before the last session pressed Start (pages opening, data made) and after
    it (training, live charts), to tell which part the worst latencies come from."""
    clicks = [r["clicked_at"] for r in results if r["clicked_at"] is not None]
    last_click = max(clicks, default=float("inf"))
    phases = {"opening, until the last Start": [], "training, after it": []}
    for sent, latency in zip(monitor.started, monitor.latencies, strict=True):
        phases["opening, until the last Start" if sent < last_click else "training, after it"].append(1e3 * latency)
    return "; ".join(
        f"health ms while {name}: p95 {percentile(ms, 0.95):.0f}, max {max(ms, default=float('nan')):.0f}"
        for name, ms in phases.items()
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--series", type=int, default=500, help="synthetic series per split (the paper: 500)")
    parser.add_argument("--runs-in-total", type=int, default=8, help="the server's DILATE_RUNS_IN_TOTAL")
    parser.add_argument("--cold", action="store_true", help="no untimed first visit: N=1 meets a fresh server")
    parser.add_argument("--browser-nice", type=int, default=19, help="the browsers' niceness (19: the lowest)")
    parser.add_argument("--proxy", action="store_true", help="browsers through nginx (deploy/nginx.conf.template)")
    args = parser.parse_args()
    port = free_port()
    limits = {"DILATE_RUNS_IN_TOTAL": str(args.runs_in_total)}
    server = start_server(port, limits, cwd=ROOT / "deploy", script="../app.py")
    proxy = None
    try:
        proxy_port = free_port() if args.proxy else None
        if args.proxy:
            proxy = start_proxy(proxy_port, port)
        url = f"http://127.0.0.1:{proxy_port or port}"
        if not args.cold:
            asyncio.run(first_visit(url))
            time.sleep(SESSION_TTL_S + 10)  # its session ends; the spare worker is ready long before
        workers = os.environ.get("DILATE_WORKERS", "the cores")
        print(
            f"{os.cpu_count()} cores; workers: {workers}; at most {args.runs_in_total} runs in total; "
            f"{args.epochs} epochs of {args.series} series per session; "
            + ("a fresh server" if args.cold else "after one untimed visit")
            + f"; browsers at niceness {args.browser_nice}"
            + ("; through nginx" if args.proxy else "")
        )
        header = "   N | first chart s (med/max) | Start to chart s (med/max) | done s (med/max) "
        header += "| health ms p50/p95/max | refused | queued | errors | peak MB | MB after close"
        rows, details = [], []
        for n in args.sessions:
            monitor = Monitor(port, server.pid)
            monitor.start()
            results = asyncio.run(load(url, n, args.epochs, args.series, args.browser_nice))
            monitor.done.set()
            monitor.join()
            time.sleep(SESSION_TTL_S + 10)
            after_close = tree_rss_mb(server.pid)
            errors = [r["error"] for r in results if r["error"]] + ["health"] * monitor.failures
            ms = [1e3 * v for v in monitor.latencies]
            cells = [
                f"{median_max([r['first_chart_s'] for r in results if r['first_chart_s'] is not None], 1):>23}",
                f"{median_max([r['start_to_chart_s'] for r in results if r['start_to_chart_s'] is not None], 2):>26}",
                f"{median_max([r['done_s'] for r in results if r['done_s'] is not None], 1):>16}",
                f"{percentile(ms, 0.5):>5.0f} / {percentile(ms, 0.95):>4.0f} / {max(ms, default=float('nan')):>5.0f}",
                f"{sum(r['refused'] for r in results):>7}",
                f"{sum(r['queued'] for r in results):>6}",
                f"{len(errors):>6}",
                f"{monitor.peak_mb:>7.0f}",
                f"{after_close:>14.0f}",
            ]
            rows.append(f"{n:>4} | " + " | ".join(cells))
            charts = [f"{r['start_to_chart_s']:.2f}" if r["start_to_chart_s"] else "refused" for r in results]
            details.append(f"N={n}: Start to chart per session, s: {', '.join(charts)}")
            details.append(f"N={n}: " + health_by_phase(monitor, results))
            details += [f"N={n}: error: {error}" for error in errors[:3]]
            print(rows[-1], flush=True)
    finally:
        if proxy:
            stop_server(proxy)
        stop_server(server)
    print("\n" + header + "\n" + "-" * len(header) + "\n" + "\n".join(rows))
    print("\n".join(details))


if __name__ == "__main__":
    main()
