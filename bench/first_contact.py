"""First contact: how long a visitor waits for each page's first chart, on a fresh server.

    python -m bench.first_contact [--cold] [--visitors 16]

Starts the app as `make serve` does (deploy/.streamlit/config.toml, a run at most 300 s) on 127.0.0.1
and, with --cold, an empty numba cache (a fresh clone's first start), and times in chromium:
each page's first chart (or its form, for pages without a chart before a run) opened in a new
browser, then reached by its sidebar link in one tab, beside the floor: a one-chart Streamlit
page opened the same way, Streamlit's own front end loading in a browser with nothing cached;
Start -> first live chart on synthetic and ECG5000; Results of the ECG5000 run, first and second
visit; a playground slider -> every chart redrawn; and N visitors pressing Start at once, each
one's time to a first chart or a queue message with its expected wait, and the health endpoint's
p95. The N visitors speak Streamlit's websocket protocol (bench/protocol.py): N browsers would
starve on two cores and time themselves; with --visitors-in-browsers they are chromiums below the
server's priority, timed in the page. Each time is printed
beside the issue's target (measured on this machine, quiet). Then, with --cold, each kernel's
compile time (numba's own timers, in a process of its own on another empty cache).
"""

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import async_playwright

from bench.load_test import ANSWERED, WATCH_FIRST_CHART, Monitor, percentile, renice_browsers
from bench.protocol import Visitor
from explorer.worker import WORKER_NICENESS
from tests.browser import CHROMIUM, CHROMIUM_FLAGS, ROOT, free_port, start_server, stop_server

# st.plotly_chart's charts, and those updated in place (explorer.plotly_react: the playground's)
CHART = ':is([data-testid="stPlotlyChart"], .stPlotlyReact) .main-svg'
FRESH_CHART = f'[data-testid="stElementContainer"][data-stale="false"] {CHART}'  # drawn by the current run
RUNNING = '[data-testid="stStatusWidget"]'
TIMEOUT_MS = 600_000
IDLE_MS = 1000  # after a page's run, before the next timed action
# The N visitors' browsers stand in for visitors' own machines: below the server's priority, level
# with the training jobs. At the lowest (19) the jobs, at 10, left them a few percent of the two
# cores, and each page answered only when the queue had drained: minutes, which no visitor waits.
BROWSER_NICENESS = WORKER_NICENESS
VISITORS_WATCH_S = 30  # how long each of the N protocol visitors follows its page after Start
# page -> (its link, its title, what shows it is usable: a chart, or a text for pages without one)
PAGES = {
    "Overview": ("", "DILATE Explorer", CHART),
    "Loss playground": ("playground", "Loss playground", CHART),
    "Data": ("data", "Data", CHART),
    "Train": ("train", "Train", "text=/There is no data yet|Start training/"),  # no chart before a run
    # its claims' table (its charts are drawn when their section is opened)
    "Paper": ("paper", "The paper, reproduced", '[data-testid="stDataFrame"]'),
}
PLAYGROUND_CHARTS = 5  # the playground's charts once its kernels are compiled
# The floor: a Streamlit page of one small chart, served beside the app, opened the same way.
ONE_CHART_PAGE = """import plotly.graph_objects as go
import streamlit as st

st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])))
"""


def nav(page, name: str):
    """The sidebar's link to a page (pages may link to each other too)."""
    return page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True)


async def timed(page, action, selector: str) -> float:
    began = time.monotonic()
    await action()
    await page.locator(selector).first.wait_for(timeout=TIMEOUT_MS)
    return time.monotonic() - began


async def settled(page) -> None:
    """Wait until the page's script run is over (the running indicator gone)."""
    await page.wait_for_timeout(100)
    await page.locator(RUNNING).wait_for(state="detached", timeout=TIMEOUT_MS)


async def idle(page) -> None:
    """Wait until the page's run is over and its charts have had a moment to finish drawing."""
    await settled(page)
    await page.wait_for_timeout(IDLE_MS)


async def opening(browser, url: str, floor_url: str) -> dict:
    """Seconds to each page's first chart (or form): opened in a new browser (nothing of
    Streamlit's front end cached: a new visitor), then reached by its sidebar link in one tab,
    as a visitor moves between pages; and the floor, a one-chart Streamlit page in a new browser."""
    times = {}
    pages = {"a one-chart Streamlit page (the floor)": (floor_url, CHART)}
    pages |= {name: (f"{url}/{path}", ready) for name, (path, _, ready) in PAGES.items()}
    for name, (address, ready) in pages.items():
        context = await browser.new_context(viewport={"width": 1300, "height": 900})
        page = await context.new_page()
        began = time.monotonic()
        visit = lambda p=page, address=address: p.goto(address)  # noqa: E731
        times[f"new browser -> first chart: {name}"] = await timed(page, visit, ready)
        if name == "Loss playground":  # its first chart shows while its kernels compile: then every chart
            await page.locator(CHART).nth(PLAYGROUND_CHARTS - 1).wait_for(timeout=TIMEOUT_MS)
            await settled(page)
            times["new browser -> every chart: Loss playground"] = time.monotonic() - began
        await context.close()
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    await page.goto(f"{url}/data")  # from a page that is not one of them, with a chart to leave
    await page.locator(CHART).first.wait_for(timeout=TIMEOUT_MS)
    for name, (_, title, ready) in PAGES.items():
        await idle(page)  # a visitor reads a page before the next: its drawing is not the next page's time
        began = time.monotonic()
        await nav(page, name).click()
        await page.get_by_role("heading", name=title, exact=True).wait_for(timeout=TIMEOUT_MS)
        fresh = ready.replace(CHART, FRESH_CHART)  # not the last page's chart, kept until this run replaces it
        await page.locator(fresh).first.wait_for(timeout=TIMEOUT_MS)
        times[f"sidebar link -> first chart: {name}"] = time.monotonic() - began
    await context.close()
    return times


async def start_to_chart(page, url: str, data_link: str, epochs: int) -> float:
    await page.goto(f"{url}/{data_link}")
    await page.locator(CHART).first.wait_for(timeout=TIMEOUT_MS)
    await nav(page, "Train").click()
    box = page.get_by_role("spinbutton", name="Epochs", exact=True)
    await box.fill(str(epochs))
    await box.press("Tab")
    await page.wait_for_function(f"() => !document.querySelector('{CHART}')")
    return await timed(page, page.get_by_role("button", name="Start training").click, CHART)


async def one_visitor(browser, url: str, index: int, ready: asyncio.Barrier) -> float | None:
    """Seconds from Start to a first chart or a queue message with the expected wait (None:
    neither), timed in the page (bench.load_test's WATCH_FIRST_CHART)."""
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        await page.goto(f"{url}/data?n_series=200&data_seed={index}")
        await page.locator(CHART).first.wait_for(timeout=TIMEOUT_MS)
        await nav(page, "Train").click()
        box = page.get_by_role("spinbutton", name="Epochs", exact=True)
        await box.fill("50")
        await box.press("Tab")
        await page.evaluate(WATCH_FIRST_CHART)
        await page.wait_for_function(f"() => !document.querySelector('{CHART}')")  # the Data page's are gone
        await ready.wait()
        await page.get_by_role("button", name="Start training").click()
        await page.wait_for_function("() => window.__firstChart.answered !== undefined", timeout=TIMEOUT_MS)
        marks = await page.evaluate("() => window.__firstChart")
        return (marks["answered"] - marks["clicked"]) / 1000
    except Exception as error:  # printed, the others go on
        print(f"visitor {index}: {type(error).__name__}: {str(error).splitlines()[0]}", file=sys.stderr)
        return None
    finally:
        await context.close()


async def protocol_visitor(port: int, index: int, ready: asyncio.Barrier, watch_s: float) -> float | None:
    """Seconds from Start to a first chart or a queue message with the expected wait (None:
    neither within `watch_s`), timed at the websocket: the server's answer, no browser drawing it."""
    try:
        async with Visitor(port) as visitor:
            await visitor.open("data", f"n_series=200&data_seed={index}")
            train = await visitor.open("train")
            await ready.wait()
            await visitor.press(train, "Start training", {"Epochs": 50})
            return await visitor.watch(re.compile(ANSWERED), watch_s)
    except Exception as error:  # printed, the others go on
        print(f"visitor {index}: {type(error).__name__}: {error}", file=sys.stderr)
        await ready.abort()
        return None


async def n_visitors(url: str, visitors: int, server, in_browsers: bool, browser) -> dict:
    """N visitors pressing Start at once: each one's answer, and the health endpoint's p95 meanwhile."""
    port = int(url.rsplit(":", 1)[1])
    ready = asyncio.Barrier(visitors)
    monitor = Monitor(port, server.pid)  # health, from a process of its own
    monitor.start()
    if in_browsers:
        renice_browsers(BROWSER_NICENESS)  # from here on, their browsers are not the server's
        answers = await asyncio.gather(*(one_visitor(browser, url, i, ready) for i in range(visitors)))
    else:  # every visitor follows its page (live charts, statuses) for the same time
        answers = await asyncio.gather(*(protocol_visitor(port, i, ready, VISITORS_WATCH_S) for i in range(visitors)))
    monitor.done.set()
    monitor.join()
    how = "in browsers" if in_browsers else "at the websocket"
    return {
        f"N = {visitors}: Start -> chart or queue message, worst ({how})": max(
            (a for a in answers if a is not None), default=float("nan")
        ),
        f"N = {visitors}: visitors with neither": sum(a is None for a in answers),
        f"N = {visitors}: health p95 ms": percentile([1e3 * v for v in monitor.latencies], 0.95),
        f"N = {visitors}: each visitor, sorted": " ".join(f"{a:.2f}" for a in sorted(a for a in answers if a)),
    }


async def measure(url: str, floor_url: str, visitors: int, server, in_browsers: bool) -> dict:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        times = await opening(browser, url, floor_url)
        context = await browser.new_context(viewport={"width": 1300, "height": 900})
        page = await context.new_page()
        times["Start -> first chart: synthetic"] = await start_to_chart(page, url, "data", 20)
        await page.get_by_text("done after").wait_for(timeout=TIMEOUT_MS)
        times["Start -> first chart: ECG5000"] = await start_to_chart(page, url, "data?source=ecg5000", 2)
        await page.get_by_text("done after").wait_for(timeout=TIMEOUT_MS)
        link = nav(page, "Results")
        # "Downloads" follows the Results page's chart: the Train page's charts do not count.
        times["Results on ECG5000, first visit"] = await timed(page, link.click, "text=Downloads")
        await nav(page, "Train").click()
        await settled(page)
        times["Results on ECG5000, again"] = await timed(page, link.click, "text=Downloads")
        await page.goto(f"{url}/playground")
        await page.locator(CHART).nth(4).wait_for(timeout=TIMEOUT_MS)
        await idle(page)
        slider = page.get_by_role("slider", name="Time shift")
        began = time.monotonic()
        await slider.press("ArrowRight")
        await page.wait_for_function("() => new URLSearchParams(location.search).get('shift') === '4'")
        await settled(page)
        await page.locator(CHART).nth(4).wait_for(timeout=TIMEOUT_MS)
        times["playground slider -> charts redrawn"] = time.monotonic() - began
        await context.close()
        if visitors:  # 0: the single visitor's times only
            times |= await n_visitors(url, visitors, server, in_browsers, browser)
        await browser.close()
    return times


TARGETS = {  # the issue's, quiet machine: (cold, warm) seconds
    "new browser -> first chart: Overview": (5, 1.5),
    "Start -> first chart: synthetic": (None, 1.5),
    "Start -> first chart: ECG5000": (None, 3),
    "Results on ECG5000, again": (None, 2),
    "playground slider -> charts redrawn": (None, 0.5),
}


def kernel_compile_times() -> list[tuple[str, str, float]]:
    """(kernel, argument types, seconds) of every specialisation warmup() compiles, from numba's
    timers, in a process of its own on an empty cache (inclusive of the kernels it calls)."""
    script = """
import json, dilate_core
from tests.warmup_check import kernels
dilate_core.warmup()
print(json.dumps([(name, ", ".join(map(str, s)), k.get_metadata(s)["timers"]["compiler_lock"])
                  for name, k in kernels().items() for s in k.signatures]))
"""
    with tempfile.TemporaryDirectory() as cache:
        env = {"NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
        done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="an empty numba cache, as a fresh clone has")
    parser.add_argument("--visitors", type=int, default=16, help="N visitors pressing Start at once (0: none)")
    parser.add_argument(
        "--visitors-in-browsers",
        action="store_true",
        help="the N visitors in chromium (timed in the page) rather than at the websocket",
    )
    args = parser.parse_args()
    environment = {"DILATE_MAX_JOB_SECONDS": "300", "DILATE_RUNS_IN_TOTAL": str(args.visitors + 2)}
    cache = tempfile.TemporaryDirectory() if args.cold else None
    if cache is not None:
        environment["NUMBA_CACHE_DIR"] = cache.name
    port = free_port()
    began = time.monotonic()
    server = start_server(port, environment, cwd=ROOT / "deploy", script="../app.py")  # the demo's settings
    print(f"server up in {time.monotonic() - began:.1f} s ({'cold' if args.cold else 'warm'} numba cache)")
    floor_folder = tempfile.TemporaryDirectory()
    (Path(floor_folder.name) / "one_chart.py").write_text(ONE_CHART_PAGE)
    floor_port = free_port()
    floor = start_server(floor_port, cwd=Path(floor_folder.name), script="one_chart.py", launcher="streamlit")
    try:
        url, floor_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{floor_port}"
        times = asyncio.run(measure(url, floor_url, args.visitors, server, args.visitors_in_browsers))
    finally:
        stop_server(floor)
        stop_server(server)
        floor_folder.cleanup()
    column = 0 if args.cold else 1
    print("\n| what | seconds | target |\n|---|---|---|")
    for name, seconds in times.items():
        target = TARGETS.get(name, (None, None))[column]
        if (
            re.search(r"-> (first|every) chart: ", name)
            and not name.startswith("Start")
            and "floor" not in name
            and target is None
        ):
            target = 15 if args.cold else 1.5
        if name.startswith("N ="):
            target = 2 if "worst" in name else 0 if "neither" in name else 100 if "health" in name else None
        shown = f"{seconds:.2f}" if isinstance(seconds, float) else str(seconds)
        print(f"| {name} | {shown} | {'' if target is None else f'<= {target}'} |")
    if args.cold:
        print("\n| kernel | arguments | compile s (numba's timer) |\n|---|---|---|")
        for name, signature, seconds in kernel_compile_times():
            print(f"| {name} | {signature} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
