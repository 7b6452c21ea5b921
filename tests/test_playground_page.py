"""The loss playground page through AppTest: its presets set the sliders, and every number its
sentences state is the number its charts draw."""

import base64
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dilate_lab import playground
from explorer import playground_text as words

URL = {"length": "len", "position": "pos"}  # the link's names that differ from the settings'


def playground_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=300)
    at.run()
    at.switch_page("pages/playground.py")
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    return at


def values(encoded) -> list:
    """An array as plotly's JSON sends it: a list, or {'dtype', 'bdata'} (base64 of the raw values)."""
    if isinstance(encoded, dict):
        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"]).tolist()
    return list(encoded)


def figure(at: AppTest, key_part: str) -> dict:
    """The figure sent for the chart whose element id holds `key_part` (AppTest sees charts as unknown
    elements; their JSON is in the proto: st.plotly_chart's spec, or explorer.plotly_react's data),
    its traces' x and y as lists."""
    specs = [c.proto.spec for c in at.get("plotly_chart") if key_part in c.proto.id]
    specs += [json.loads(c.proto.json)["figure"] for c in at.get("bidi_component") if key_part in c.proto.id]
    (spec,) = specs
    fig = json.loads(spec)
    for trace in fig["data"]:
        trace["x"], trace["y"] = values(trace["x"]), values(trace["y"])
    fig["layout"].setdefault("annotations", [])
    return fig


def sliders(at: AppTest) -> dict:
    return {name: at.slider(key=f"play.{name}").value for name in playground.DEFAULTS if name != "gamma"} | {
        "gamma": at.select_slider(key="play.gamma").value
    }


@pytest.mark.parametrize("name", list(words.PRESETS))
def test_each_preset_link_sets_every_slider_and_says_what_to_look_at(name):
    preset = words.PRESETS[name]
    query = {URL.get(k, k): str(v) for k, v in preset["settings"].items()}
    at = playground_page(query)
    assert sliders(at) == pytest.approx(preset["settings"])
    assert [i.value for i in at.info if i.value.startswith("**")] == [f"**{name}**: {preset['look']}"]
    # From another setting, following the preset's link (the page's URL changes) sets the sliders again.
    at.slider(key="play.shift").set_value(-7).run()
    assert not [i for i in at.info if i.value.startswith("**")]  # no preset is set any more
    at.query_params.update(query)
    at.run()
    assert sliders(at) == pytest.approx(preset["settings"])


def test_the_gradient_sentences_state_the_moves_the_charts_draw():
    at = playground_page()  # the defaults: every loss pushes
    grid = figure(at, "play.gradient_grid")
    labels = [a["text"] for a in grid["layout"]["annotations"]]
    drawn = {trace["name"]: np.abs(np.array(trace["y"])).max() for trace in grid["data"]}
    assert labels == [f"{name}: largest |gradient| {value:.3g}" for name, value in drawn.items()]
    view = figure(at, "play.gradient_chart")
    forecast = np.array(view["data"][1]["y"])
    moves = [abs(a["y"] - a["ay"]) for a in view["layout"]["annotations"] if a.get("showarrow")]
    rate = 0.25 / max(drawn.values())  # the target's range is 1: the most-pushed point of all moves 0.25
    sentence = next(m.value for m in at.markdown if m.value.startswith("**DILATE** is"))
    assert f"its largest move is {max(moves):.2g} (largest |gradient| {drawn['DILATE']:.3g})" in sentence
    assert max(moves) == pytest.approx(rate * drawn["DILATE"]) and f"one learning rate, {rate:.3g}" in sentence
    moved = np.array(view["data"][2]["y"])
    np.testing.assert_allclose(np.abs(moved - forecast).max(), max(moves))
    listing = next(m.value for m in at.markdown if m.value.startswith("At this forecast"))
    for name, value in drawn.items():
        assert f"(largest move {rate * value:.2g}, |gradient| {value:.3g})" in listing, name


def test_a_sharp_late_step_at_gamma_0_1_draws_dilate_as_practically_0_beside_mse():
    at = playground_page({"smooth": "0", "shift": "3", "gamma": "0.1"})
    view = figure(at, "play.gradient_chart")
    assert not [a for a in view["layout"]["annotations"] if a.get("showarrow")]
    (note,) = [a["text"] for a in view["layout"]["annotations"]]
    assert note == "DILATE: practically 0 at this scale, largest |gradient| 0.000119 (0.24% of MSE's 0.05)"
    sentence = next(m.value for m in at.markdown if m.value.startswith("**DILATE** is"))
    assert "largest |gradient| is 0.000119, 0.24% of MSE's" in sentence


def test_the_curve_caption_states_the_growth_the_shift_chart_draws():
    for shift, example in ((3, 3), (-1, -1), (0, 3)):
        at = playground_page({"shift": str(shift)})
        curves = figure(at, "play.shift_curves")
        (caption,) = [c.value for c in at.caption if c.value.startswith("Each curve is")]
        for trace in curves["data"]:
            value = trace["y"][trace["x"].index(example)]
            assert f"{trace['name']} {words.change(value)}" in caption
        assert f"{'(this forecast)' if shift else ''}" in caption and "MSE is a mean over the 40 points" in caption
        growth = {t["name"]: abs(t["y"][t["x"].index(example)]) for t in curves["data"]}
        numbers = re.search(r"\(([\d.]+) against ([\d.]+)\)", caption).groups()
        assert numbers == (f"{growth['soft-DTW']:.3f}", f"{growth['temporal']:.3f}")


def test_a_flat_forecast_with_tdi_0_is_named_a_diagonal_by_a_tie():
    at = playground_page({"scale": "0.0", "smooth": "0", "shift": "0"})
    (caption,) = [c.value for c in at.caption if "The path drawn" in c.value]
    assert "The path drawn is the diagonal, but only by a tie" in caption and "TDI = 0.0000" in caption
