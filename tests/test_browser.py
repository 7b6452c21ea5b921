"""The main journeys in a real browser: data, live training, stop, alignments, downloads.

Each step that fails leaves a screenshot of the page in test-artifacts/. With
UPDATE_SCREENSHOTS=1 the pages' screenshots are also written to assets/screenshots/ for the README.
"""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from dilate_lab import shipped
from tests.browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    ROOT,
    free_port,
    open_section,
    settle,
    start_server,
    stop_server,
)
from tests.proc import alive, descendants, wait_until

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]
CHART = ':is([data-testid="stPlotlyChart"], .stPlotlyReact)'  # the playground's: explorer.plotly_react


@pytest.fixture(scope="module")
def app_url():
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    server = start_server(port)
    yield f"http://127.0.0.1:{port}"
    stop_server(server)


@pytest.fixture
def page(app_url, request):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(60_000)
        page.goto(app_url)
        page.get_by_role("heading", name="DILATE Explorer").wait_for()
        yield page
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        browser.close()


def snapshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so the window is made as tall
    as the page for the picture, then given back its size."""
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 0")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 6000))})
    page.wait_for_timeout(800)  # charts redraw at the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "assets" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)


def open_page(page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name).wait_for()
    settle(page)


def soft_path_map(page) -> list:
    """The z values of the first soft path map (the third chart of the first column)."""
    return page.evaluate("() => document.querySelectorAll('.js-plotly-plot')[2].data[0].z")


def server_log(app_url: str) -> Path:
    """The output of the server at this address (tests.browser.start_server writes it)."""
    return ARTIFACTS / f"server-{app_url.rsplit(':', 1)[1]}.log"


ESTIMATE = re.compile(r"^Expected duration on this server: about")


def test_overview_data_train_stop_alignments_results(page, app_url):
    snapshot(page, "overview")
    open_page(page, "Data")
    page.locator(CHART).first.wait_for()
    # Move the noise slider with the keyboard: the data and the link follow.
    page.get_by_role("slider", name="Noise sigma").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"sigma=0\.015"))
    settle(page)
    snapshot(page, "data")

    # The expected duration is measured with the training kernels, which a fresh server compiles first.
    assert wait_until(lambda: "kernels 'training' ready" in server_log(app_url).read_text(), 180)
    open_page(page, "Train")
    before = page.get_by_text(ESTIMATE).inner_text()  # for the default 100 epochs
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("300")
    epochs.press("Tab")
    page.get_by_text(ESTIMATE).filter(has_not_text=before).wait_for()  # it follows the form, before Start
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Epoch \d+ of 300")).wait_for()
    page.locator(CHART).nth(4).wait_for()  # loss curves, metric curves and three forecasts
    first = page.get_by_text(re.compile(r"Epoch \d+ of 300")).inner_text()
    # It is live: the epoch moves on without any click (waited for, however busy the machine).
    page.get_by_text(re.compile(r"Epoch \d+ of 300")).filter(has_not_text=first).wait_for()
    snapshot(page, "train")
    page.get_by_role("button", name="Stop training").click()
    page.get_by_text(re.compile(r"Run #\d+ stopped after \d+ epochs")).wait_for()
    page.get_by_role("button", name="Continue training").wait_for()

    open_page(page, "Alignments")
    page.locator(CHART).nth(8).wait_for()  # three columns of three charts
    before = soft_path_map(page)
    page.get_by_role("slider", name="gamma of the soft path map").focus()
    page.keyboard.press("End")
    page.wait_for_url(re.compile(r"map_gamma=10"))
    changed = "(z) => JSON.stringify(document.querySelectorAll('.js-plotly-plot')[2].data[0].z) !== z"
    page.wait_for_function(changed, arg=json.dumps(before))
    snapshot(page, "alignments")

    open_page(page, "Results")
    page.locator(CHART).first.wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Metrics (CSV)").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("metric,loss,ours") and "DILATE" in text
    page.get_by_role("button", name="Prepare the figure as PNG").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Figure (PNG)").click()
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
    snapshot(page, "results")


# Per chart: the boxes of its title, subplot titles and annotations, legend and axis titles.
OVERLAPS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap((el, k) => {
    const boxes = [...el.querySelectorAll('.gtitle, .annotation-text-g, .legend, .g-xtitle, .g-ytitle')]
        .map(n => [n.getAttribute('class'), n.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
    const found = [];
    boxes.forEach(([a, r], i) => boxes.slice(i + 1).forEach(([b, q]) => {
        const x = Math.min(r.right, q.right) - Math.max(r.left, q.left);
        const y = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
        if (x > 1 && y > 1) found.push(`chart ${k}: ${a} over ${b}`);
    }));
    return found;
})"""
AXIS_TITLES = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(el =>
    Object.keys(el._fullLayout).filter(key => /^[xy]axis/.test(key))
        .map(key => el._fullLayout[key].title.text || ''))"""
WIDEST_CHART = """() => Math.max(...[...document.querySelectorAll('.js-plotly-plot')]
    .map(e => e.getBoundingClientRect().right))"""
# The first soft path map's colour at E = 0 and its plot's background, as the browser renders them.
SOFT_MAP_ZERO = """() => {
    const el = [...document.querySelectorAll('.js-plotly-plot')].find(e =>
        e._fullData.length && e._fullData[0].type === 'heatmap' && e._fullData[0].zmax === 1);
    return {zero: el._fullData[0].colorscale[0][1], plot: el._fullLayout.plot_bgcolor,
            page: getComputedStyle(document.querySelector('.stApp')).backgroundColor};
}"""


def _rgba(text: str) -> tuple[float, float, float, float]:
    """'rgba(1, 2, 3, 0.5)', 'rgb(1, 2, 3)' or '#010203' as (r, g, b, alpha), r, g, b in 0..255."""
    if text.startswith("#"):
        return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16), 1.0)
    values = [float(v) for v in text[text.index("(") + 1 : -1].split(",")]
    return (*values[:3], values[3] if len(values) == 4 else 1.0)


def shown_colour(colour: str, background: str) -> tuple[float, float, float]:
    """The colour a cell of `colour` shows over `background` (alpha blending)."""
    *rgb, alpha = _rgba(colour)
    return tuple(alpha * c + (1 - alpha) * b for c, b in zip(rgb, _rgba(background)[:3], strict=True))


def open_page_on_a_phone(page, name: str) -> None:
    """Open the sidebar, follow its link, and close the sidebar if it stays over the page."""
    page.locator('[data-testid="stExpandSidebarButton"]').click()
    open_page(page, name)
    collapse = page.locator('[data-testid="stSidebarCollapseButton"] button')
    if collapse.is_visible():
        collapse.click()
    settle(page)


def no_overlaps(page) -> list[str]:
    settle(page)
    page.wait_for_timeout(500)  # plotly lays its text out after the chart appears
    return page.evaluate(OVERLAPS)


def factors(page, label: str) -> set[str]:
    """Every 'label ×k' a page shows, in its charts' axis titles and in its text."""
    pattern = re.compile(rf"{label} ×\d+")
    titles = " ".join(page.evaluate(AXIS_TITLES))
    return set(pattern.findall(titles)) | set(pattern.findall(page.locator("section.main, .stMain").first.inner_text()))


def test_a_short_run_told_truly_in_light_dark_and_on_a_phone(page, app_url):
    """A 5-epoch run: the flat forecasts named, one scale on every page, the soft map's zero the
    background in both themes, no chart's texts over each other at 390 px."""
    page.goto(f"{app_url}/data?n_series=100")
    page.locator(CHART).first.wait_for()
    settle(page)
    open_page(page, "Train")
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("5")
    epochs.press("Tab")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Run #1 done after 5 epochs")).wait_for(timeout=180_000)
    settle(page)
    page.get_by_text(re.compile("are flat so far")).wait_for()
    shown = {"Train": factors(page, "DTW") | factors(page, "TDI")}
    snapshot(page, "train")

    open_page(page, "Alignments")
    page.locator(CHART).nth(8).wait_for()
    page.get_by_text("How to read the matrices").wait_for()
    shown["Alignments"] = factors(page, "DTW") | factors(page, "TDI")
    light = page.evaluate(SOFT_MAP_ZERO)
    assert min(shown_colour(light["zero"], light["plot"])) > 240  # white, or nearly
    snapshot(page, "alignments")

    open_page(page, "Results")
    page.get_by_text(re.compile("The forecasts of MSE, soft-DTW, DILATE are flat")).wait_for()
    shown["Results"] = factors(page, "DTW") | factors(page, "TDI")
    assert all(found == {"DTW ×100", "TDI ×10"} for found in shown.values()), shown
    snapshot(page, "results")

    page.emulate_media(color_scheme="dark")  # Streamlit follows the system's theme
    for name in ("Data", "Train", "Alignments", "Results"):
        open_page(page, name)
        page.locator(CHART).first.wait_for()
        settle(page)
        if name == "Alignments":
            dark = page.evaluate(SOFT_MAP_ZERO)
            assert max(shown_colour(dark["zero"], dark["plot"])) < 60  # dark, as the page behind it
            zero, behind = shown_colour(dark["zero"], dark["plot"]), shown_colour(dark["page"], dark["page"])
            assert max(abs(a - b) for a, b in zip(zero, behind, strict=True)) < 3
        snapshot(page, f"{name.lower()}-dark")

    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})
    for name in ("Data", "Train", "Alignments", "Results"):
        open_page_on_a_phone(page, name)
        page.locator(CHART).first.wait_for()
        assert no_overlaps(page) == [], name
        widest = page.evaluate(WIDEST_CHART)
        assert widest <= 390, f"{name}: a chart reaches {widest} px"
        snapshot(page, f"{name.lower()}-phone")


def test_a_broken_csv_upload_gets_a_message_not_a_traceback(page, tmp_path):
    open_page(page, "Data")
    page.get_by_text("Upload CSV").click()
    settle(page)
    broken = tmp_path / "broken.csv"
    broken.write_text("time,value\n1,2\n2,oops\n3,4\n")
    page.locator('input[type="file"]').set_input_files(str(broken))
    page.get_by_text(re.compile("This file cannot be used: These columns are not numeric: value")).wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0


SPARE_STARTED = r"spare process (\d+) started"  # explorer.launcher's log lines, in the server's output
JOB_STARTED = r"job 1 runs in process (\d+)"


def logged_pids(log: Path, pattern: str) -> list[int]:
    """The process ids the server's log gives in the lines that match `pattern` (one group: the id), in order."""
    return [int(found) for found in re.findall(pattern, log.read_text())]


def test_closing_a_session_stops_its_training_job():
    port = free_port()
    server = start_server(port, flags=("--server.disconnectedSessionTTL=1",))
    log = ARTIFACTS / f"server-{port}.log"  # the server's output, where the job pool says what it started
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"http://127.0.0.1:{port}/data?n_series=100")  # the fresh server's first visit: a page's link
            page.locator(CHART).first.wait_for()
            # app.py ran: its navigation, not a listing of the page files Streamlit found itself
            assert page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()[1].endswith("Loss playground")
            open_page(page, "Train")
            # the spares the pool keeps ready (start_server's DILATE_WORKERS=2: one per worker), before Start
            assert wait_until(lambda: len(logged_pids(log, SPARE_STARTED)) >= 2, 120), "no spare for each worker"
            spares = set(logged_pids(log, SPARE_STARTED))
            epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
            epochs.fill("2000")
            epochs.press("Tab")
            page.get_by_role("button", name="Start training").click()
            page.get_by_text(re.compile(r"Epoch \d+ of 2000")).wait_for()
            # The job's process says its id in its first message; the pool logs it.
            started = wait_until(lambda: logged_pids(log, JOB_STARTED), 60)
            assert len(started) == 1, "the job never reported its process"
            worker = started[0]
            assert worker in spares, "the job runs in a process that was ready for it"
            assert alive(worker) and worker in descendants(server.pid)
            context.close()  # the visitor closes the tab
            browser.close()
        assert wait_until(lambda: not alive(worker), 60), "the closed session's job kept running"
    finally:
        stop_server(server)


@pytest.mark.parametrize(("link", "heading"), [("paper", "The paper, reproduced"), ("results?n_series=100", "Results")])
def test_a_fresh_servers_first_visitor_of_a_page_link_gets_the_app(link, heading):
    """Streamlit's first run on a new server would serve pages/ by itself (its directory mode):
    the page must still come inside app.py's frame, with the app's navigation."""
    port = free_port()
    server = start_server(port)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"http://127.0.0.1:{port}/{link}")
            page.get_by_role("heading", name=heading, exact=True).wait_for(
                timeout=180_000
            )  # a cold numba cache compiles first
            settle(page)
            navigation = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
            assert [text.split("\n")[-1] for text in navigation] == [
                "Overview",
                "Loss playground",
                "Data",
                "Train",
                "Alignments",
                "Results",
                "Paper",
            ]
            assert page.locator('[data-testid="stException"]').count() == 0
            browser.close()
    finally:
        stop_server(server)


def test_the_server_begins_compiling_before_its_first_visit_and_every_page_shares_that_compiler(page, app_url):
    """`make run` and `make serve` start the server through explorer.serve: the kernels start
    compiling before Streamlit serves anyone, and the pages find that compiler, not a second one."""
    open_page(page, "Loss playground")  # a page that waits for the kernels
    page.locator(CHART).first.wait_for()  # its charts come after its run's last message
    log = (ARTIFACTS / f"server-{app_url.rsplit(':', 1)[1]}.log").read_text()
    lines = log.splitlines()
    began = [n for n, line in enumerate(lines) if "compiling the kernels in the background" in line]
    served = [n for n, line in enumerate(lines) if "You can now view your Streamlit app" in line]
    assert len(began) == 1 and len(served) == 1 and began[0] < served[0], log


def metric_changed(page, name: str, before: str) -> None:
    """Wait until the metric named `name` shows other than `before` (its text then)."""
    page.wait_for_function(
        "([name, before]) => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
        ".some(m => m.innerText.includes(name) && m.innerText !== before)",
        arg=[name, before],
    )


def test_playground_responds_to_the_shift_slider(page):
    open_page(page, "Loss playground")
    page.locator(CHART).nth(4).wait_for()
    temporal = page.locator('[data-testid="stMetric"]').filter(has_text="temporal")
    before = temporal.inner_text()
    slider = page.get_by_role("slider", name="Time shift")
    slider.focus()
    page.keyboard.press("End")  # from 3 to 10 steps late
    page.wait_for_url(re.compile(r"shift=10"))
    metric_changed(page, "temporal", before)


def test_a_forecast_drawn_by_hand_is_scored_and_a_cleared_value_is_named_and_ignored(page):
    open_page(page, "Loss playground")
    page.locator(CHART).nth(4).wait_for()
    assert page.locator('[data-testid="stDataFrame"]').count() == 0  # closed, its table is not built
    mse = page.locator('[data-testid="stMetric"]').filter(has_text="MSE")
    made = mse.inner_text()
    open_section(page, "Draw the forecast by hand: edit its values")
    grid = page.locator('[data-testid="stDataFrame"]')
    grid.locator("canvas").first.wait_for()
    page.wait_for_timeout(1000)  # the grid takes its size before it takes clicks

    def select_the_first_value() -> None:  # a cell in the upper rows, then up to the first
        grid.evaluate("el => el.scrollIntoView({block: 'start'})")  # beside the charts it can start low
        box = grid.bounding_box()
        page.mouse.click(
            box["x"] + 0.6 * box["width"], box["y"] + 0.45 * min(box["height"], 400)
        )  # a row below the one Enter left selected
        page.wait_for_timeout(300)
        for _ in range(6):
            page.keyboard.press("ArrowUp")
        page.wait_for_function("() => document.activeElement?.id === 'glide-cell-1-0'")  # column 1, row 0

    select_the_first_value()
    page.keyboard.type("5")  # the first point, 0 in the forecast made from the target
    page.locator("input.gdg-input").wait_for()  # the cell's editor, open with what was typed
    page.keyboard.press("Enter")
    metric_changed(page, "MSE", made)
    drawn = mse.inner_text()
    select_the_first_value()
    page.keyboard.press("Delete")
    page.get_by_text("Every value must be a number").wait_for()
    metric_changed(page, "MSE", drawn)
    assert mse.inner_text() == made  # the empty value ignored: the forecast made from the target again


def test_paper_page_reruns_a_small_version_live():
    port = free_port()
    server = start_server(port, extra_env={"DILATE_MAX_EPOCHS": "10"})  # a small version of 10 epochs per seed
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            try:
                page.goto(f"http://127.0.0.1:{port}/paper")
                page.get_by_role("heading", name="The paper, reproduced").wait_for()
                settle(page)
                open_section(page, "Tables 1 and 2: synthetic steps")
                # Table 1's synthetic rerun, the quickest (Streamlit marks a keyed element with class st-key-<key>).
                rerun = page.locator(".st-key-paper-rerun-table1_synthetic")
                rerun.get_by_role("button", name="Rerun a small version").click()
                page.get_by_text(re.compile(r"seed 0: \w+, epoch \d+ of 10")).wait_for()
                snapshot(page, "paper")
                finished = re.compile(r"Test metrics after the last epoch, mean over 2 seeds")
                page.get_by_text(finished).wait_for(timeout=300_000)
                # its metrics beside the paper's (the claims' numbers sit in a closed expander above)
                page.locator('[data-testid="stDataFrame"]:visible').first.wait_for()
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "test_paper_page_reruns_a_small_version_live.png"))
                raise
            browser.close()
    finally:
        stop_server(server)


VIEWS = {  # screenshot suffix -> browser page options: light, dark, and a phone's width
    "": {"viewport": {"width": 1400, "height": 1000}},
    "-dark": {"viewport": {"width": 1400, "height": 1000}, "color_scheme": "dark"},
    "-phone": {"viewport": {"width": 390, "height": 844}},
}
# Within each rendered chart: its title, axis and colour-bar titles, subplot titles (annotations
# with text) and legend, as boxes on the screen; the pairs of them that overlap by more than 1 px.
OVERLAPPING_LABELS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap((plot, k) => {
    const boxes = [];
    const add = (element, label) => {
        const r = element.getBoundingClientRect();
        if (r.width > 0 && r.height > 0) boxes.push({label, r});
    };
    plot.querySelectorAll('text.gtitle, text[class$="title"], .cbtitle text').forEach(e => add(e, e.textContent));
    plot.querySelectorAll('g.annotation').forEach(a => {
        const text = a.querySelector('text.annotation-text');
        if (text && text.textContent.trim()) add(text, text.textContent);
    });
    plot.querySelectorAll('g.legend rect.bg').forEach(e => add(e, 'legend'));
    const pairs = [];
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) pairs.push(`chart ${k}: '${boxes[i].label}' over '${boxes[j].label}'`);
    }
    return pairs;
})"""


def whole_page_snapshot(page, name: str) -> None:
    """A snapshot of the whole page: the window made as tall as Streamlit's scrolling main area."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 12_000)})
    page.wait_for_timeout(1500)  # the charts redraw at the new size
    snapshot(page, name)


@pytest.mark.parametrize("view", list(VIEWS))
def test_overview_data_and_playground_keep_every_chart_label_apart(app_url, view):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(**VIEWS[view])
        page.set_default_timeout(120_000)
        # Data's default examples include series whose step is inside the input: their flag is drawn too.
        for name, path, charts in (("overview", "", 3), ("data", "data", 6), ("playground", "playground", 6)):
            page.goto(f"{app_url}/{path}")
            page.locator(CHART).nth(charts - 1).wait_for()
            settle(page)
            page.wait_for_timeout(500)
            assert page.evaluate(OVERLAPPING_LABELS) == [], name
            whole_page_snapshot(page, f"{name}{view}")
            assert page.evaluate(OVERLAPPING_LABELS) == [], name
            page.set_viewport_size(VIEWS[view]["viewport"])
        browser.close()


def test_playground_opens_on_a_gradient_that_pushes_drawn_about_zero(page):
    open_page(page, "Loss playground")
    page.locator(CHART).nth(4).wait_for()
    drawn = page.evaluate(
        """() => {
            const plot = document.querySelectorAll('.js-plotly-plot')[0];
            const bars = plot._fullData.find(trace => trace.type === 'bar');
            return {name: bars.name, y: Array.from(bars.y), range: plot._fullLayout.yaxis2.range,
                    zeroline: plot._fullLayout.yaxis2.zeroline};
        }"""
    )
    assert drawn["name"] == "d DILATE / d point"
    assert max(abs(value) for value in drawn["y"]) > 0.1
    low, high = drawn["range"]
    assert low < 0 < high and low == pytest.approx(-high) and drawn["zeroline"]
    assert max(abs(value) for value in drawn["y"]) <= high


REPLAY = '[data-testid="stPlotlyChart"] .js-plotly-plot'
# The replay's state in the page: the slider's step shown, and the first model's forecast and soft map.
SHOWN = """g => [g._fullLayout.sliders[0].active, Array.from(g._fullData[2].y), Array.from(g._fullData[5].z.flat())]"""


@pytest.mark.skipif(not shipped.available(), reason="no packed run in assets/runs")
def test_the_replay_plays_the_shipped_run_and_its_slider_changes_the_forecast_and_the_maps(page):
    page.set_default_timeout(240_000)
    open_page(page, "Alignments")  # a new visitor: no run of their own
    replay = page.locator(REPLAY).first
    replay.wait_for()
    settle(page)
    page.get_by_text("Trained 1000 epochs with the paper's settings", exact=False).first.wait_for()
    last, forecast, soft_map = replay.evaluate(SHOWN)
    frames = replay.evaluate("g => g._transitionData._frames.length")
    assert last == frames - 1  # it opens on the last epoch
    replay.get_by_text("Play", exact=False).first.click()
    page.wait_for_function(f"g => g._fullLayout.sliders[0].active < {last}", arg=replay.element_handle())
    page.wait_for_timeout(1000)
    step, forecast_now, soft_map_now = replay.evaluate(SHOWN)
    assert step < last and forecast_now != forecast and soft_map_now != soft_map
    assert page.locator('[data-testid="stException"]').count() == 0
