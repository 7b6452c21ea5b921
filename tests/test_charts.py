"""The app's figures, built from arrays without a browser."""

from pathlib import Path

import numpy as np
import pytest

from explorer import charts

REPORTS = [
    {"epoch": e, "train": {n: {"loss": 1.0 / e} for n in ("mse", "soft_dtw", "dilate")},
     "test": {n: {"mse": 0.1, "dtw": 0.2, "tdi": 0.3} for n in ("mse", "soft_dtw", "dilate")} if e % 2 else None}
    for e in range(1, 6)
]  # fmt: skip


def test_forecast_draws_input_target_predictions_and_breakpoint():
    x, y = np.zeros((20, 1)), np.ones((10, 1))
    fig = charts.forecast(x, y, {"mse": y * 0.5, "dilate": y}, breakpoint=25)
    assert [trace.name for trace in fig.data] == ["input", "target", "MSE", "DILATE"]
    assert [trace.line.color for trace in fig.data[2:]] == [charts.COLOURS["mse"], charts.COLOURS["dilate"]]
    np.testing.assert_array_equal(fig.data[1].x, np.arange(20, 30))
    assert fig.layout.shapes[0].x0 == 25


def test_series_thumbnail_draws_its_breakpoint_and_flag():
    fig = charts.series_thumbnail(np.zeros((8, 1)), np.zeros((4, 1)), 5, "test series 3", "step inside the input")
    assert len(fig.data) == 2 and fig.layout.shapes[0].x0 == 5 and fig.layout.title.text == "test series 3"
    assert [a.text for a in fig.layout.annotations] == ["step"]  # the flag is not in the plot, over its labels
    assert fig.layout.title.subtitle.text == "step inside the input"
    assert len(charts.series_thumbnail(np.zeros((8, 1)), np.zeros((4, 1)), 20).layout.shapes) == 0  # beyond the series


def test_curves_follow_the_reports_at_the_papers_scale():
    fig = charts.training_curve(REPORTS, "dilate")
    assert len(fig.data) == 1 and list(fig.data[0].y) == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    tdi = charts.metric_curve(REPORTS, "tdi", "synthetic")
    assert len(tdi.data) == 3 and list(tdi.data[0].x) == [1, 3, 5]
    assert list(tdi.data[0].y) == pytest.approx([3.0] * 3)  # 0.3 at the paper's x10
    assert tdi.layout.yaxis.title.text == "test TDI ×10"
    dtw = charts.metric_curve(REPORTS, "dtw", "ecg5000")  # ECG5000's DTW row is x10, the others x100
    assert list(dtw.data[0].y) == pytest.approx([2.0] * 3) and dtw.layout.yaxis.title.text == "test DTW ×10"
    assert charts.metric_curve([], "mse", "synthetic").data == () and charts.trained_models([]) == []


@pytest.mark.parametrize(
    "build", [lambda r: charts.training_curve(r, "soft_dtw"), lambda r: charts.metric_curve(r, "dtw", "synthetic")]
)
def test_curves_refilled_in_place_equal_curves_built_anew(build):
    stopped = [{**r, "train": {n: v for n, v in r["train"].items() if n != "mse"}} for r in REPORTS[:2]]
    later = REPORTS + [{**r, "epoch": r["epoch"] + 5} for r in stopped]  # MSE stopped at epoch 5
    fig = build(REPORTS[:3])
    assert charts.refill_curves(fig, later) is fig
    assert fig.to_dict() == build(later).to_dict()


def test_forecasts_refilled_in_place_equal_a_forecast_built_anew():
    x, y = np.zeros((20, 1)), np.ones((10, 1))
    fig = charts.forecast(x, y, {"mse": y * 0.5, "dilate": y}, breakpoint=25)
    assert charts.refill_forecast(fig, {"mse": y * 2, "dilate": y * 3})
    assert fig.to_dict() == charts.forecast(x, y, {"mse": y * 2, "dilate": y * 3}, breakpoint=25).to_dict()
    assert not charts.refill_forecast(fig, {"mse": y})  # other models: the caller builds anew
    assert list(fig.data[3].y) == [3.0] * 10


def _rgba(colour: str) -> tuple[float, ...]:
    return tuple(float(v) for v in colour[colour.index("(") + 1 : -1].split(","))


def test_the_soft_map_is_transparent_at_zero_with_no_colour_streamlit_rewrites():
    soft = charts.soft_alignment(np.eye(4) * 0.5, gamma=0.1, t0=20, path=np.array([[0, 0], [1, 1], [2, 2], [3, 3]]))
    heatmap = soft.data[0]
    assert (heatmap.zmin, heatmap.zmax) == (0.0, 1.0) and "0.1" in soft.layout.title.text
    stops = [colour for _, colour in heatmap.colorscale]
    assert _rgba(stops[0])[3] == 0.0 and _rgba(stops[-1])[3] == 1.0  # E = 0: the background shows
    placeholders = {f"#0000{k:02d}" for k in range(1, 41)}  # streamlit_plotly_theme.py's #000001-#000040
    assert not placeholders & {c.lower() for c in stops} and all(c.startswith("rgba(") for c in stops)
    # counted in the forecast charts' time steps, the DTW path drawn over the map
    assert list(heatmap.x) == [20, 21, 22, 23] and list(soft.data[-1].y) == [20, 21, 22, 23]
    assert soft.data[-1].name == "DTW path"


def test_cost_matrices_share_the_range_they_are_given_and_count_time_steps_from_t0():
    D = np.arange(20.0).reshape(4, 5)
    path = np.array([[0, 0], [1, 1], [2, 2], [3, 3], [3, 4]])
    cost = charts.cost_matrix(D, path, t0=20, zmax=40.0)
    assert (cost.data[0].zmin, cost.data[0].zmax) == (0.0, 40.0)
    assert list(cost.data[0].x) == [20, 21, 22, 23, 24] and list(cost.data[0].y) == [20, 21, 22, 23]
    assert list(cost.data[1].x) == [20, 21, 22, 23, 24] and list(cost.data[1].y) == [20, 21, 22, 23, 23]
    assert charts.cost_matrix(D).data[0].zmax == 19.0  # alone: its own maximum


SCORES = {
    n: {"mse": np.full(9, 0.01), "dtw": np.linspace(0.1, 0.9, 9), "tdi": np.full(9, 0.05)} for n in ("mse", "dilate")
}


def test_metric_boxes_at_the_papers_scale_one_box_per_loss():
    fig = charts.metric_box(SCORES, "dtw", "ecg5000")
    assert [trace.name for trace in fig.data] == ["MSE", "DILATE"] and all(t.type == "box" for t in fig.data)
    np.testing.assert_allclose(fig.data[0].y, np.linspace(1, 9, 9))  # x10 on ECG5000
    assert fig.layout.yaxis.title.text == "DTW ×10"
    png = charts.metric_distributions(SCORES, "synthetic")
    assert len(png.data) == 6 and [a.text for a in png.layout.annotations] == ["MSE ×100", "DTW ×100", "TDI ×10"]


def test_the_dtw_tdi_scatter_draws_flat_forecasts_apart():
    flat = {"mse": np.zeros(9, bool), "dilate": np.arange(9) < 3}
    fig = charts.dtw_tdi_scatter(SCORES, flat, "synthetic")
    assert [(t.name, len(t.x), t.marker.symbol) for t in fig.data] == [
        ("MSE", 9, "circle"),
        ("DILATE", 6, "circle"),
        ("DILATE (flat)", 3, "circle-open"),
    ]
    np.testing.assert_allclose(fig.data[2].x, [10.0, 20.0, 30.0])  # DTW x100 of the three flat ones
    assert fig.layout.xaxis.title.text.startswith("DTW ×100") and fig.layout.yaxis.title.text.startswith("TDI ×10")


def test_the_scatter_of_many_series_draws_the_same_thousand_for_every_loss():
    n = 4499  # ECG5000's test series
    rng = np.random.default_rng(1)
    scores = {name: {"dtw": rng.random(n), "tdi": rng.random(n)} for name in ("mse", "dilate")}
    flat = {"mse": np.zeros(n, bool), "dilate": np.arange(n) % 2 == 0}
    fig = charts.dtw_tdi_scatter(scores, flat, "ecg5000")
    drawn = charts.drawn_series(n)
    assert len(drawn) == charts.SCATTER_SERIES and len(set(drawn)) == len(drawn)
    for name, traces in (("mse", fig.data[:1]), ("dilate", fig.data[1:])):
        xs = np.concatenate([trace.x for trace in traces])
        np.testing.assert_allclose(np.sort(xs), np.sort(charts.scaled(scores[name]["dtw"][drawn], "dtw", "ecg5000")))
    assert len(fig.data[1].x) + len(fig.data[2].x) == charts.SCATTER_SERIES
    np.testing.assert_array_equal(charts.drawn_series(9), np.arange(9))  # a small test set: every series


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="kaleido needs Debian's chromium")
def test_figures_export_as_png_with_the_systems_chromium():
    png = charts.soft_alignment(np.eye(3), 0.1).to_image(format="png", width=300, height=200)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_warmup_builds_the_live_figures_on_a_report_in_the_trainers_format():
    charts.warmup()  # raises when a live figure's function or the report format it reads changed
