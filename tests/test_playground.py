"""The playground's curves as facts about the losses, and its gradients against finite differences."""

import numpy as np
import pytest
import torch

from dilate_core.losses import dilate_loss
from dilate_lab import playground as pg

TARGET = pg.step_target(length=40, position=20, height=1.0, noise=0.0)


@pytest.fixture(scope="module")
def curves():
    return pg.curves(TARGET, alpha=0.5, gamma=0.01)


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_every_loss_but_soft_dtw_is_lowest_at_zero_shift(noise):
    target = pg.step_target(40, 20, 1.0, noise, seed=3)
    shifts, values = pg.curves(target)["shift"]
    for name in ("MSE", "temporal", "DILATE", "divergence"):
        assert shifts[np.argmin(values[name])] == 0, name


def test_height_error_is_lowest_at_the_true_height_except_for_the_temporal_term(curves):
    scales, values = curves["scale"]
    for name in ("MSE", "soft-DTW", "DILATE", "divergence"):
        assert scales[np.argmin(values[name])] == pytest.approx(1.0), name
    # A taller step sharpens the soft alignment around the diagonal: the temporal term keeps falling.
    assert scales[np.argmin(values["temporal"])] > 1.0


def test_shape_term_is_nearly_flat_under_small_shifts_while_the_temporal_term_grows(curves):
    shifts, values = curves["shift"]
    at = {int(s): i for i, s in enumerate(shifts)}
    shape = values["soft-DTW"]
    assert max(abs(shape[at[s]] - shape[at[0]]) for s in (-3, -2, -1, 1, 2, 3)) < 0.01
    temporal = values["temporal"]
    for small, large in ((0, 1), (1, 2), (2, 3), (3, 5), (5, 10)):
        assert temporal[at[large]] > temporal[at[small]] and temporal[at[-large]] > temporal[at[-small]]
    mse_growth = values["MSE"][at[3]] - values["MSE"][at[0]]
    assert abs(shape[at[3]] - shape[at[0]]) < 0.2 * mse_growth  # DTW's invariance to the shift


def test_a_smoothed_and_a_shifted_forecast_of_equal_mse_are_told_apart_by_dilate():
    shifted = pg.forecast_from(TARGET, shift=3)
    smoothed = pg.forecast_from(TARGET, smooth=6)
    mse = lambda f: np.mean((f - TARGET) ** 2)  # noqa: E731
    # Blend the smoothed forecast towards the target until both errors are equal.
    smoothed = TARGET + np.sqrt(mse(shifted) / mse(smoothed)) * (smoothed - TARGET)
    values = pg.losses(np.stack([shifted, smoothed]), TARGET)
    assert values["MSE"][0] == pytest.approx(values["MSE"][1], rel=1e-12)
    assert abs(values["DILATE"][0] - values["DILATE"][1]) > 0.05


def test_divergence_is_zero_for_identical_series_and_positive_otherwise():
    values = pg.losses(
        np.stack([TARGET, pg.forecast_from(TARGET, shift=1), pg.forecast_from(TARGET, scale=0.9)]), TARGET
    )
    assert abs(values["divergence"][0]) < 1e-12 and (values["divergence"][1:] > 0).all()


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])  # the alpha slider's ends too
def test_gradients_equal_finite_differences(alpha):
    forecast = pg.forecast_from(pg.step_target(12, 6, 1.0, 0.1, seed=1), shift=2, smooth=1)
    target = pg.step_target(12, 6, 1.0, 0.1, seed=1)
    grads = pg.gradients(forecast, target, alpha=alpha, gamma=0.1)
    eps = 1e-6
    for j in (0, 5, 7, 11):
        up, down = forecast.copy(), forecast.copy()
        up[j] += eps
        down[j] -= eps
        plus, minus = pg.losses(up, target, alpha, 0.1), pg.losses(down, target, alpha, 0.1)
        for name in pg.LOSS_NAMES:
            numeric = (plus[name][0] - minus[name][0]) / (2 * eps)
            assert grads[name][j] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (name, j)


def test_bad_step_settings_are_rejected():
    with pytest.raises(ValueError, match="position < length"):
        pg.step_target(length=10, position=10)


def _loss(name, forecast, target, alpha, gamma) -> float:
    return float(pg.losses(forecast, target, alpha, gamma)[name][0])


def test_a_batch_of_forecasts_scores_as_dilate_loss_scores_each_alone():
    target = pg.step_target(30, 12, 0.8, 0.05, seed=4)
    forecasts = np.stack([pg.forecast_from(target, s, 1.2, 1) for s in (-4, 0, 2, 7)])
    values = pg.losses(forecasts, target, alpha=0.3, gamma=0.1)
    for k, forecast in enumerate(forecasts):
        pred, tgt = torch.tensor(forecast)[None, :, None], torch.tensor(target)[None, :, None]
        loss, shape, temporal = dilate_loss(pred, tgt, alpha=0.3, gamma=0.1)
        assert values["DILATE"][k] == pytest.approx(float(loss), rel=1e-12)
        assert values["soft-DTW"][k] == pytest.approx(float(shape), rel=1e-12)
        assert values["temporal"][k] == pytest.approx(float(temporal), rel=1e-12)
        assert values["MSE"][k] == pytest.approx(np.mean((forecast - target) ** 2), rel=1e-12)


def _defaults():
    d = pg.DEFAULTS
    target = pg.step_target(d["length"], d["position"], d["height"], d["noise"])
    return target, pg.forecast_from(target, d["shift"], d["scale"], d["smooth"]), d["alpha"], d["gamma"]


def test_at_the_defaults_every_loss_has_a_gradient_that_finite_differences_confirm():
    target, forecast, alpha, gamma = _defaults()
    result = pg.analyse(forecast, target, alpha, gamma)
    eps = 1e-6
    for name, gradient in result["gradients"].items():
        assert np.abs(gradient).max() > 1e-2, name
        assert pg.no_gradient_reason(name, gradient, result["views"]["E"], result["views"]["D"]) is None
        j = int(np.argmax(np.abs(gradient)))
        up, down = forecast.copy(), forecast.copy()
        up[j] += eps
        down[j] -= eps
        numeric = (_loss(name, up, target, alpha, gamma) - _loss(name, down, target, alpha, gamma)) / (2 * eps)
        assert gradient[j] == pytest.approx(numeric, rel=1e-5), name


def test_at_the_defaults_the_temporal_term_moves_the_late_step_earlier_and_mse_towards_the_target():
    target, forecast, alpha, gamma = _defaults()
    gradients = pg.gradients(forecast, target, alpha, gamma)
    position, shift = pg.DEFAULTS["position"], pg.DEFAULTS["shift"]
    late = position + shift + pg.DEFAULTS["smooth"]  # the forecast reaches the new level here
    # The forecast's ramp lies right of the target's step: raising its points moves the step earlier.
    for name in ("temporal", "MSE"):
        for first, last, direction in pg.pushes(gradients[name]):
            assert direction == +1 and position <= first <= last < late, name
    below = forecast < target
    assert (gradients["MSE"][below] < 0).all() and (gradients["MSE"][~below] == 0).all()


def test_a_sharp_late_step_at_small_gamma_gives_no_gradient_to_any_loss_but_mse():
    forecast = pg.forecast_from(TARGET, shift=3)  # the target re-timed: DTW = 0
    result = pg.analyse(forecast, TARGET, 0.5, 0.01)
    E, D = result["views"]["E"], result["views"]["D"]
    assert pg.no_gradient_reason("MSE", result["gradients"]["MSE"], E, D) is None
    for name in ("soft-DTW", "temporal", "DILATE", "divergence"):
        assert pg.no_gradient_reason(name, result["gradients"][name], E, D) == "equal_matches", name
    # Not an artefact of the backward: finite differences of the loss itself are 0 too.
    for j in (19, 21, 23):
        up, down = forecast.copy(), forecast.copy()
        up[j] += 1e-4
        down[j] -= 1e-4
        assert abs(_loss("DILATE", up, TARGET, 0.5, 0.01) - _loss("DILATE", down, TARGET, 0.5, 0.01)) < 1e-9
    # Smoothing it brings the gradient back.
    smoothed = pg.gradients(pg.forecast_from(TARGET, shift=3, smooth=2), TARGET, 0.5, 0.01)
    assert np.abs(smoothed["DILATE"]).max() > 0.1


def test_no_gradient_reasons_name_the_identical_forecast_and_the_single_path():
    perfect = pg.analyse(TARGET, TARGET, 0.5, 0.1)
    views = perfect["views"]
    for name in ("MSE", "divergence"):
        assert pg.no_gradient_reason(name, perfect["gradients"][name], views["E"], views["D"]) == "identical"
    # Offset by a constant, the diagonal is the cheapest path by far: one path, costs > 0.
    offset = pg.analyse(TARGET + 0.3, TARGET, 0.5, 0.001)
    E, D = offset["views"]["E"], offset["views"]["D"]
    assert pg.no_gradient_reason("temporal", offset["gradients"]["temporal"], E, D) == "hard_path"
    assert pg.no_gradient_reason("soft-DTW", offset["gradients"]["soft-DTW"], E, D) is None


@pytest.mark.parametrize("name", pg.LOSS_NAMES)
def test_a_small_descent_step_lowers_the_loss_and_moves_the_most_pushed_point_by_the_move_asked(name):
    target, forecast, alpha, gamma = _defaults()
    gradients = pg.gradients(forecast, target, alpha, gamma)
    gradient = gradients[name]
    rate = pg.common_rate(gradients, 1e-3)
    moved = pg.descent_step(forecast, gradient, rate)
    # One rate for all: the most-pushed point of all the losses moves 1e-3, this loss's in proportion.
    top = max(np.abs(g).max() for g in gradients.values())
    assert np.abs(moved - forecast).max() == pytest.approx(1e-3 * np.abs(gradient).max() / top)
    pushed = np.abs(gradient) > 1e-9 * np.abs(gradient).max()
    assert (np.sign(moved - forecast)[pushed] == -np.sign(gradient[pushed])).all()
    assert _loss(name, moved, target, alpha, gamma) < _loss(name, forecast, target, alpha, gamma)
    assert (pg.descent_step(forecast, np.zeros_like(forecast), 0.5) == forecast).all()


def test_pushes_group_neighbouring_points_moved_the_same_way():
    gradient = np.array([0.0, -1.0, -0.5, 0.1, 0.8, 0.3, -0.3, 0.0])
    assert pg.pushes(gradient, share=0.25) == [(1, 2, +1), (4, 5, -1), (6, 6, +1)]
    assert pg.pushes(np.zeros(5)) == []


def test_ranking_orders_lowest_first_and_groups_equal_values():
    assert pg.ranking({"a": 0.0, "b": 2.0, "c": 0.0}) == [["a", "c"], ["b"]]
    assert pg.ranking({"x": -0.1, "y": -0.6, "z": 0.4}) == [["y"], ["x"], ["z"]]


def test_mse_prefers_a_smooth_step_and_dilate_a_late_one():
    forecasts = {
        "perfect": TARGET,
        "late": pg.forecast_from(TARGET, shift=4),
        "smooth": pg.forecast_from(TARGET, smooth=6),
    }
    card = pg.scorecard(forecasts, TARGET, alpha=0.5, gamma=0.01)
    mse = {name: np.mean((f - TARGET) ** 2) for name, f in forecasts.items()}
    assert {name: card[name]["MSE"] for name in forecasts} == pytest.approx(mse)
    assert pg.ranking(mse) == [["perfect"], ["smooth"], ["late"]]
    assert pg.ranking({name: card[name]["DILATE"] for name in forecasts}) == [["perfect"], ["late"], ["smooth"]]
    assert pg.ranking({name: card[name]["DTW"] for name in forecasts}) == [["perfect", "late"], ["smooth"]]
    assert pg.ranking({name: card[name]["TDI"] for name in forecasts}) == [["perfect", "smooth"], ["late"]]
    assert card["perfect"]["soft-DTW"] < 0 and card["perfect"]["divergence"] == pytest.approx(0, abs=1e-12)


def test_curves_pass_through_the_forecast_their_settings_make_and_excess_is_zero_there():
    by = pg.curves(TARGET, 0.5, 0.1, shift=2, scale=0.7, smooth=1)
    here = pg.losses(pg.forecast_from(TARGET, 2, 0.7, 1), TARGET, 0.5, 0.1)
    for key, at in (("shift", 2), ("scale", 0.7)):
        x, values = by[key]
        index = int(np.argmin(np.abs(x - at)))
        for name in pg.LOSS_NAMES:
            assert values[name][index] == pytest.approx(here[name][0], rel=1e-12), (key, name)
    shifts, values = by["shift"]
    grown = pg.excess(shifts, values, 0)
    assert all(v[list(shifts).index(0)] == 0 for v in grown.values())
    assert grown["MSE"][list(shifts).index(5)] == pytest.approx(values["MSE"][15] - values["MSE"][10])
    with pytest.raises(ValueError, match="not among"):
        pg.excess(shifts, values, 0.5)


def test_one_rate_for_every_loss_and_practically_0_below_a_hundredth_of_the_largest_push():
    gradients = {"MSE": np.array([0.0, 0.05]), "DILATE": np.array([1.19e-4, 0.0]), "temporal": np.zeros(2)}
    assert pg.common_rate(gradients, 0.25) == pytest.approx(5.0)
    assert [pg.push_size(g, gradients) for g in gradients.values()] == ["pushes", "practically 0", "none"]
    assert pg.push_size(np.array([0.0, 0.0006]), gradients) == "pushes"  # 1.2% of MSE's
    assert pg.common_rate({"temporal": np.zeros(2)}, 0.25) == 0.0


def _omega(path) -> float:
    return float(((path[:, 0] - path[:, 1]) ** 2).sum())


@pytest.mark.parametrize("seed", range(6))
def test_the_drawn_path_is_the_cheapest_closest_to_the_diagonal_among_every_path(seed):
    from tests.naive import alignment_paths

    rng = np.random.default_rng(seed)
    D = rng.integers(0, 3, size=(4, 5)).astype(float)  # small integers: many paths tie
    paths = [np.argwhere(A) for A in alignment_paths(4, 5)]  # 0/1 matrices as (L, 2) cells, in path order
    costs = np.array([D[p[:, 0], p[:, 1]].sum() for p in paths])
    cheapest = [p for p, c in zip(paths, costs, strict=True) if c == costs.min()]
    for farthest, pick in ((False, min), (True, max)):
        path = pg.closest_cheapest_path(D, farthest=farthest)
        assert D[path[:, 0], path[:, 1]].sum() == costs.min()
        assert _omega(path) == pick(_omega(p) for p in cheapest)


def test_a_sharp_late_step_is_drawn_lagging_at_the_step_where_dtw_own_tie_break_lags_from_t0():
    forecast = pg.forecast_from(TARGET, shift=3)
    views = pg.analyse(forecast, TARGET, 0.5, 0.01)["views"]
    lag, where = pg.largest_lag(pg.closest_cheapest_path(views["D"]))
    assert lag == 3 and where.tolist() == [19, 20]  # target step 19 waits while the forecast's 20-22 pass
    own_lag, own_where = pg.largest_lag(views["path"])
    assert own_lag == 3 and own_where.tolist() == list(range(0, 21))  # the tie-break: the whole lag at t = 0-3
    far_lag, _ = pg.largest_lag(pg.closest_cheapest_path(views["D"], farthest=True))
    assert far_lag > 3
