"""Playground slider -> every chart redrawn, with the charts drawn by st.plotly_chart (before) and
updated in place by explorer.plotly_react (after), side by side in one run.

    .venv/bin/python -m bench.playground_redraw [--moves 8]

Two servers of the app start together, one with DILATE_PLOTLY_REACT=0; a chromium page on each
opens the playground, and the Time shift slider is moved by key, one step at a time (4 right,
then back), the two pages taking turns. A move's time runs from the key press (the page's
keydown) to the later of the end of the last long task (PerformanceObserver 'longtask', over
50 ms) and the last change inside a chart, once the run is over and every one of the six charts
shows the new figure (its data and shapes differ from before the move) and the page has been
quiet for a second. Times are the browser's: the server's part is the same on both sides.
"""

import argparse
import statistics
import time

from playwright.sync_api import sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_FLAGS, free_port, settle, start_server, stop_server

CHARTS = 6  # the playground's charts
QUIET_MS = 1000  # no long task and no chart change for this long: the redraw is over
# Installed once per page: the end of every long task, the last change inside a chart, the key press.
WATCH = """() => {
    window.__longTaskEnds = [];
    new PerformanceObserver(list => list.getEntries().forEach(
        e => window.__longTaskEnds.push(e.startTime + e.duration))).observe({type: 'longtask'});
    window.__chartChanged = 0;
    new MutationObserver(records => {
        if (records.some(r => r.target.closest && r.target.closest('.js-plotly-plot')))
            window.__chartChanged = performance.now();
    }).observe(document.body, {subtree: true, childList: true, attributes: true});
    document.addEventListener('keydown', () => { window.__pressed = performance.now(); }, true);
}"""
# What each chart shows, to tell a redrawn chart from the one before the move.
SHOWN = """() => [...document.querySelectorAll('.js-plotly-plot')].map(plot => JSON.stringify(
    [(plot.data || []).map(t => [t.x, t.y, t.z]), (plot.layout || {}).shapes]))"""
# Milliseconds from the key press to the end of the redraw, once the page has been quiet.
REDRAWN = """([before, quiet]) => {
    const shown = [...document.querySelectorAll('.js-plotly-plot')].map(plot => JSON.stringify(
        [(plot.data || []).map(t => [t.x, t.y, t.z]), (plot.layout || {}).shapes]));
    if (shown.length !== before.length || shown.some((s, i) => s === before[i])) return null;
    if (document.querySelector('[data-testid="stStatusWidget"]')) return null;
    const last = Math.max(window.__chartChanged, ...window.__longTaskEnds);
    if (performance.now() - last < quiet) return null;
    return last - window.__pressed;
}"""


def open_playground(browser, url: str):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.set_default_timeout(300_000)
    page.goto(f"{url}/playground")
    page.locator(".js-plotly-plot .main-svg").nth(CHARTS - 1).wait_for()
    settle(page)
    page.evaluate(WATCH)
    page.wait_for_timeout(QUIET_MS)
    return page


def move(page, key: str) -> float:
    """Seconds from pressing `key` on the Time shift slider to every chart redrawn."""
    before = page.evaluate(SHOWN)
    page.get_by_role("slider", name="Time shift").press(key)
    return page.wait_for_function(REDRAWN, arg=[before, QUIET_MS], polling=100).json_value() / 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=8, help="slider moves on each side (half right, half back)")
    args = parser.parse_args()
    keys = ["ArrowRight"] * (args.moves // 2) + ["ArrowLeft"] * (args.moves - args.moves // 2)
    sides = {"st.plotly_chart (DILATE_PLOTLY_REACT=0)": "0", "Plotly.react component (default)": "1"}
    servers = {
        name: (port := free_port(), start_server(port, {"DILATE_PLOTLY_REACT": flag})) for name, flag in sides.items()
    }
    times = {name: [] for name in sides}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            pages = {name: open_playground(browser, f"http://127.0.0.1:{port}") for name, (port, _) in servers.items()}
            for key in keys:  # the two sides take turns, so that both meet the machine's same moments
                for name, page in pages.items():
                    page.bring_to_front()
                    times[name].append(move(page, key))
            browser.close()
    finally:
        for _, server in servers.values():
            stop_server(server)
    print(f"\nplayground slider -> every chart redrawn, {args.moves} moves, {time.strftime('%Y-%m-%d %H:%M')}")
    print("\n| charts drawn by | median s | each move, s |\n|---|---|---|")
    for name, seconds in times.items():
        print(f"| {name} | {statistics.median(seconds):.2f} | {' '.join(f'{s:.2f}' for s in seconds)} |")


if __name__ == "__main__":
    main()
