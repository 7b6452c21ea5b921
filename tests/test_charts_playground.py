"""The loss playground's figures: one scale for every loss's gradient, colours that keep their meaning."""

import colorsys

import numpy as np
import pytest

from dilate_lab import playground
from explorer import charts
from explorer import charts_playground as figures


def arrows(fig):
    """(x, from, to) of every arrow drawn over the forecast."""
    return [(a.x, a.ay, a.y) for a in fig.layout.annotations if a.showarrow]


def test_gradient_view_draws_the_push_below_on_an_axis_symmetric_about_zero():
    target = np.r_[np.zeros(5), np.ones(5)]
    forecast = np.r_[np.zeros(6), 0.5, np.ones(3)]
    gradient = np.r_[np.zeros(6), -0.4, 0.1, np.zeros(2)]
    fig = figures.gradient_view(target, forecast, {"DILATE": gradient}, "DILATE", rate=1.0)
    bars = next(trace for trace in fig.data if trace.type == "bar")
    np.testing.assert_array_equal(bars.y, gradient)
    assert bars.marker.color == charts.COLOURS["dilate"] and bars.yaxis == "y2"
    low, high = fig.layout.yaxis2.range
    assert low == -high and high == pytest.approx(1.15 * 0.4) and fig.layout.yaxis2.zeroline
    # One arrow per moved point, from the forecast to forecast - rate * gradient.
    assert arrows(fig) == [(6, 0.5, 0.9), (7, 1.0, 0.9)]
    assert fig.data[0].line.color == charts.COLOURS["target"]


def test_a_small_gradient_is_drawn_at_the_scale_every_loss_shares_not_blown_up_to_its_own():
    forecast = np.zeros(6)
    gradients = {"MSE": np.r_[0, 0, -0.05, 0, 0, 0], "DILATE": np.r_[0, 0, 0, -1e-4, 0, 0]}
    # Alone, at a rate at which 1e-4 moves 0.1: its arrow is exactly rate * gradient long.
    alone = figures.gradient_view(forecast, forecast, {"DILATE": gradients["DILATE"]}, "DILATE", rate=1000.0)
    assert arrows(alone) == [(3, 0.0, pytest.approx(0.1))]
    # At the rate that moves MSE's point by 0.25, DILATE's move would be 0.0005: no arrow, its size in words.
    rate = playground.common_rate(gradients, 0.25)
    assert rate == pytest.approx(5.0)
    fig = figures.gradient_view(forecast, forecast, gradients, "DILATE", rate)
    assert arrows(fig) == [] and len(fig.data) == 3  # target, forecast, bars: no "after one step" line
    assert list(fig.layout.yaxis2.range) == pytest.approx([-1.15 * 0.05, 1.15 * 0.05])  # MSE's push holds the axis
    (note,) = [a.text for a in fig.layout.annotations]
    assert note == "DILATE: practically 0 at this scale, largest |gradient| 0.0001 (0.20% of MSE's 0.05)"
    mse = figures.gradient_view(forecast, forecast, gradients, "MSE", rate)
    assert arrows(mse) == [(2, 0.0, pytest.approx(0.25))]


@pytest.mark.parametrize("size", [0.0, 1e-14])  # exactly 0, and float noise (a sharp late step at gamma 0.03)
def test_gradient_view_of_no_gradient_keeps_zero_in_the_middle_and_says_so(size):
    series = np.zeros(8)
    gradient = np.r_[np.zeros(4), size, -size, 0, 0]
    fig = figures.gradient_view(series, series, {"temporal": gradient}, "temporal", rate=0.0)
    assert list(fig.layout.yaxis2.range) == [-1.0, 1.0]
    assert arrows(fig) == []
    assert [a.text for a in fig.layout.annotations] == ["temporal: no gradient (|d temporal / d point| ≈ 0 everywhere)"]


def test_playground_losses_each_have_their_own_colour_on_one_shared_axis():
    x = np.arange(-2, 3)
    excess = {name: np.abs(x) * (k + 1.0) for k, name in enumerate(playground.LOSS_NAMES)}
    fig = figures.loss_excess(x, excess, current=1, x_title="shift", y_title="growth")
    colours = [trace.line.color for trace in fig.data]
    assert [trace.name for trace in fig.data] == list(excess) and len(set(colours)) == 5
    assert colours[0] == charts.COLOURS["mse"] and colours[4] == charts.COLOURS["sdtw_div"]
    assert all(trace.yaxis in (None, "y") for trace in fig.data)  # one axis for all
    assert fig.layout.shapes[0].x0 == 1


def test_forecast_panel_draws_the_target_under_the_forecast():
    target, forecast = np.r_[np.zeros(3), np.ones(3)], np.r_[np.zeros(4), np.ones(2)]
    fig = figures.forecast_panel(target, forecast)
    np.testing.assert_array_equal(fig.data[0].y, target)
    np.testing.assert_array_equal(fig.data[1].y, forecast)
    assert fig.data[0].line.color == charts.COLOURS["target"] and fig.layout.title.text is None


def test_gradient_grid_draws_every_loss_on_one_scale_and_names_the_ones_too_small_to_see():
    gradients = {
        "MSE": np.array([0.0, -0.05, 0.0]),
        "soft-DTW": np.array([0.6, -0.2, 0.0]),
        "DILATE": np.array([0.0, 1.19e-4, 0.0]),
        "temporal": np.zeros(3),
    }
    fig = figures.gradient_grid(gradients)
    assert [trace.marker.color for trace in fig.data] == [figures.loss_colour(name) for name in gradients]
    assert [trace.yaxis for trace in fig.data] == ["y", "y2", "y3", "y4"]
    ranges = [list(fig.layout[f"yaxis{k}"].range) for k in ("", "2", "3", "4")]
    assert ranges == [pytest.approx([-0.69, 0.69])] * 4  # soft-DTW's push holds every row
    assert [a.text for a in fig.layout.annotations] == [
        "MSE: largest |gradient| 0.05",
        "soft-DTW: largest |gradient| 0.6",
        "DILATE: practically 0 at this scale, largest |gradient| 0.000119 (0.02% of soft-DTW's 0.6)",
        "temporal: no gradient (|d temporal / d point| ≈ 0 everywhere)",
    ]


def _rgba(colour: str) -> tuple[float, ...]:
    return tuple(float(v) for v in colour[colour.index("(") + 1 : -1].split(","))


@pytest.mark.parametrize("background", [(255, 255, 255), (14, 17, 23)])  # Streamlit's light and dark pages
def test_the_cost_matrix_and_the_soft_map_draw_more_as_more_colour_in_both_themes(background):
    """0 is the background in both maps, and each cell's colour moves away from it as the value grows."""

    def shown(colour):
        *rgb, alpha = _rgba(colour)
        return np.array([alpha * c + (1 - alpha) * b for c, b in zip(rgb, background, strict=True)])

    D = np.array([[0.0, 2.0], [4.0, 0.0]])
    cost, soft = charts.cost_matrix(D), charts.soft_alignment(np.eye(2), 0.1)
    for heatmap in (cost.data[0], soft.data[0]):
        stops = [stop for stop, _ in heatmap.colorscale]
        distance = [np.abs(shown(colour) - background).sum() for _, colour in heatmap.colorscale]
        assert stops[0] == 0 and stops[-1] == 1 and heatmap.zmin == 0
        assert distance[0] == 0 and all(b > a for a, b in zip(distance, distance[1:], strict=False))
        hues = {round(colorsys.rgb_to_hsv(*(np.array(_rgba(c)[:3]) / 255))[0], 3) for _, c in heatmap.colorscale}
        assert len(hues) == 1  # one hue: only its strength carries the value
