"""A new visitor's Alignments in a real browser: the shipped run's replay plays in the page."""

import os

import pytest
from playwright import sync_api as playwright

from dilate_lab import shipped
from tests.browser import CHROMIUM, CHROMIUM_FLAGS, free_port, settle, start_server, stop_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
    pytest.mark.skipif(not shipped.available(), reason="no packed run in assets/runs"),
]
REPLAY = '[data-testid="stPlotlyChart"] .js-plotly-plot'
# The replay's state in the page: the slider's step shown, and the first model's forecast and soft map.
SHOWN = """g => [g._fullLayout.sliders[0].active, Array.from(g._fullData[2].y), Array.from(g._fullData[5].z.flat())]"""


def test_the_replay_plays_the_shipped_run_and_its_slider_changes_the_forecast_and_the_maps():
    port = free_port()
    server = start_server(port)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(240_000)
            page.goto(f"http://127.0.0.1:{port}/alignments")  # a new visitor: no run of their own
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
            browser.close()
    finally:
        stop_server(server)
