"""The playground's charts are updated in place: after a slider move they are the same DOM nodes,
showing the new figures."""

import re

import numpy as np
import pytest
from playwright import sync_api as playwright

from tests.browser import CHROMIUM, CHROMIUM_FLAGS, free_port, settle, start_server, stop_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHARTS = 6  # the forecast and its gradient, every loss's gradient, the two maps, the two curves
# Each chart's plot node tagged with a property of its own (an attribute would be copied by a
# clone; a property lives only on that very node), then read back.
TAG = """() => document.querySelectorAll('.stPlotlyReact.js-plotly-plot').forEach(
    (plot, i) => { plot.__taggedBeforeTheMove = i; })"""
TAGS = "() => [...document.querySelectorAll('.stPlotlyReact.js-plotly-plot')].map(p => p.__taggedBeforeTheMove)"
FORECAST = """() => {
    const plot = document.querySelectorAll('.stPlotlyReact.js-plotly-plot')[0];
    return Array.from(plot._fullData.find(trace => trace.name === 'forecast').y);
}"""
MARKED_SHIFT = "() => document.querySelectorAll('.stPlotlyReact.js-plotly-plot')[4]._fullLayout.shapes[0].x0"


@pytest.fixture(scope="module")
def app_url():
    port = free_port()
    server = start_server(port)
    yield f"http://127.0.0.1:{port}"
    stop_server(server)


def test_a_slider_move_updates_the_playgrounds_charts_in_place(app_url):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        page.goto(f"{app_url}/playground")
        page.locator(".stPlotlyReact .main-svg").nth(CHARTS - 1).wait_for()
        settle(page)
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 0  # none drawn the old way
        labels = page.locator(".stPlotlyReact").evaluate_all("nodes => nodes.map(n => n.getAttribute('aria-label'))")
        assert len(labels) == CHARTS and all(labels), labels  # each chart named for a screen reader
        assert page.evaluate(MARKED_SHIFT) == 3  # the default: 3 steps late
        before = page.evaluate(FORECAST)
        page.evaluate(TAG)

        slider = page.get_by_role("slider", name="Time shift")
        slider.focus()
        page.keyboard.press("ArrowRight")  # from 3 to 4 steps late
        page.wait_for_url(re.compile(r"shift=4"))
        settle(page)
        page.wait_for_function(f"() => ({MARKED_SHIFT})() === 4")

        assert page.evaluate(TAGS) == list(range(CHARTS))  # the very nodes of before the move
        # and they show the new forecast: the one before, one step later (the target, without
        # noise by default, is flat at both ends, so nothing else changes)
        after = page.evaluate(FORECAST)
        assert after != before
        np.testing.assert_allclose(after[1:], before[:-1], atol=1e-12)
        browser.close()
