"""Exact DTW, its path and TDI against tslearn's dtw_path and brute force; evaluate() means."""

import numpy as np
import pytest
import torch
from tslearn.metrics import dtw_path

from dilate_core import metrics
from dilate_core.metrics import dtw, evaluate, per_series
from tests import naive


@pytest.mark.parametrize("lengths", [(20, 20), (13, 21), (30, 7), (1, 5)])
@pytest.mark.parametrize("d", [1, 2])
def test_dtw_value_and_path_equal_tslearn(lengths, d):
    rng = np.random.default_rng(0)
    target, pred = rng.normal(size=(5, lengths[0], d)), rng.normal(size=(5, lengths[1], d))
    scores = per_series(pred, target)
    D = ((target[:, :, None, :] - pred[:, None, :, :]) ** 2).sum(-1)
    result = dtw(D)
    for b in range(5):
        path, distance = dtw_path(target[b], pred[b])
        np.testing.assert_array_equal(result.paths[b], np.array(path))
        np.testing.assert_allclose(scores["dtw"][b], distance, rtol=1e-12)
        i, j = np.array(path).T
        np.testing.assert_allclose(scores["tdi"][b], ((i - j) ** 2).sum() / (lengths[0] * lengths[1]))


def test_ties_break_as_tslearn_does():
    # Constant and step series make many paths of equal cost.
    target = np.array([[0.0, 0, 0, 1, 1, 1, 1, 0]]).reshape(1, -1, 1)
    pred = np.array([[0.0, 0, 1, 1, 1, 1, 0, 0]]).reshape(1, -1, 1)
    for x, y in ((target, pred), (pred, target), (target, target)):
        path, _ = dtw_path(x[0], y[0])
        np.testing.assert_array_equal(dtw((x[:, :, None, 0] - y[:, None, :, 0]) ** 2).paths[0], np.array(path))


@pytest.mark.parametrize("shape", [(1, 1), (3, 4), (5, 5), (6, 3)])
def test_dtw_cost_is_the_minimum_over_all_paths(shape):
    D = np.random.default_rng(1).random((3, *shape))
    result = dtw(D)
    for b in range(3):
        best, _ = naive.dtw(D[b])
        np.testing.assert_allclose(result.cost[b], best, rtol=1e-12)
        i, j = result.paths[b].T
        np.testing.assert_allclose(D[b][i, j].sum(), best, rtol=1e-12)
        steps = np.diff(result.paths[b], axis=0)
        assert set(map(tuple, steps)) <= {(0, 1), (1, 0), (1, 1)}


def test_evaluate_means_and_identity():
    rng = np.random.default_rng(2)
    pred, target = rng.normal(size=(6, 10, 1)), rng.normal(size=(6, 10, 1))
    scores = evaluate(torch.from_numpy(pred).float(), torch.from_numpy(target).float())
    np.testing.assert_allclose(scores["mse"], ((pred - target) ** 2).mean(), rtol=1e-6)
    distances = [dtw_path(target[b], pred[b])[1] for b in range(6)]
    np.testing.assert_allclose(scores["dtw"], np.mean(distances), rtol=1e-6)
    assert evaluate(target, target) == {"mse": 0.0, "dtw": 0.0, "tdi": 0.0}


def test_tdi_of_a_pure_shift_is_that_of_the_brute_force_optimal_path():
    # A step 3 steps late on noise: TDI is sum (i - j)^2 / N^2 over the optimal path, found here by
    # trying every alignment path.
    rng = np.random.default_rng(5)
    target = 0.01 * rng.random((1, 8, 1))
    target[0, 3:] += 1.0
    pred = np.roll(target, 2, axis=1)
    D = (target[0, :, None, 0] - pred[0, None, :, 0]) ** 2
    _, best_path = naive.dtw(D)
    i, j = np.nonzero(best_path)
    expected = ((i - j) ** 2).sum() / 8**2
    assert expected > 0
    assert per_series(pred, target)["tdi"][0] == pytest.approx(expected, rel=1e-12)
    assert per_series(target, target)["tdi"][0] == 0


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="same batch size"):
        evaluate(np.zeros((2, 5, 1)), np.zeros((3, 5, 1)))
    with pytest.raises(ValueError, match="NaN"):
        evaluate(np.full((2, 5, 1), np.nan), np.zeros((2, 5, 1)))


def test_swinging_door_keeps_exactly_the_knots_of_a_piecewise_linear_series():
    knots_t, knots_y = [0, 4, 9, 13, 19], [0.0, 2.0, -1.0, -1.0, 1.5]
    series = np.interp(np.arange(20), knots_t, knots_y)[None, :]
    np.testing.assert_allclose(metrics.swinging_door(series, 0.05), series, atol=1e-12)
    noise = np.random.default_rng(0).uniform(-0.04, 0.04, size=20)
    line = 0.1 * np.arange(20.0)
    # Within +-epsilon of a line: one segment from the first point to the last.
    approximation = metrics.swinging_door((line + noise)[None, :], 0.05)[0]
    np.testing.assert_allclose(np.diff(approximation, 2), 0.0, atol=1e-12)


def test_ramp_score_is_zero_on_the_target_and_the_missed_ramp_otherwise():
    target = np.interp(np.arange(20), [0, 5, 10, 19], [0.0, 0.0, 1.0, 1.0])[None, :, None]
    assert metrics.ramp_score(target, target)[0] == 0.0
    flat = np.zeros_like(target)
    assert metrics.ramp_score(flat, target)[0] == pytest.approx(1.0 / 19)  # slope 0.2 missed for 5 steps
    late = np.interp(np.arange(20), [0, 8, 13, 19], [0.0, 0.0, 1.0, 1.0])[None, :, None]
    # The ramps overlap on [8, 10]; on [5, 8] and [10, 13] one rises at 0.2 while the other is flat
    # (a door narrower than the corners' deviations keeps every knot).
    assert metrics.ramp_score(late, target, epsilon=0.01)[0] == pytest.approx(6 * 0.2 / 19)
    assert metrics.ramp_score(late, target)[0] < 6 * 0.2 / 19  # a wider door cuts the corners
    with pytest.raises(ValueError, match="univariate"):
        metrics.ramp_score(np.zeros((1, 20, 2)), np.zeros((1, 20, 2)))


def test_change_points_of_noise_free_steps_are_where_the_steps_are():
    steps = np.repeat([[0.0, 1.0, -0.5, 0.5]], [6, 5, 4, 5], axis=1)
    assert metrics.change_points(steps)[0].tolist() == [6, 11, 15, 20]
    assert metrics.change_points(np.zeros((1, 20)))[0].tolist() == [20]


@pytest.mark.parametrize("shift", [0, 1, 3])
def test_hausdorff_of_a_shifted_step_is_the_shift(shift):
    target = np.repeat([[0.0, 1.0]], [8, 12], axis=1)
    forecast = np.repeat([[0.0, 1.0]], [8 + shift, 12 - shift], axis=1)
    assert metrics.hausdorff(forecast, target)[0] == shift
    assert metrics.hausdorff(target, forecast)[0] == shift  # symmetric


def test_hausdorff_counts_the_change_a_flat_forecast_misses_to_the_end():
    target = np.repeat([[0.0, 1.0]], [8, 12], axis=1)
    assert metrics.hausdorff(np.zeros((1, 20)), target)[0] == 12


def test_a_forecast_is_flat_when_it_moves_less_than_a_fifth_of_its_target():
    t = np.linspace(0, 1, 20)
    target = np.stack([np.where(t > 0.5, 1.0, 0.0), np.sin(6 * t), np.full(20, 0.5)])[:, :, None]  # (3, 20, 1)
    constant = np.full((3, 20, 1), 0.4)
    # flat against a step and a wave; against a constant target a constant forecast is right, not flat
    np.testing.assert_array_equal(metrics.is_flat(constant, target), [True, True, False])
    # a step of a tenth of the target's height moves a tenth as much: flat; the target itself is not
    np.testing.assert_allclose(metrics.flatness(target * 0.1, target)[:2], [0.1, 0.1])
    np.testing.assert_array_equal(metrics.is_flat(target * 0.1, target)[:2], [True, True])
    np.testing.assert_array_equal(metrics.is_flat(target, target), [False, False, False])
    # a late step moves as much as the target: not flat, whatever its timing
    late = np.roll(target[:1], 5, axis=1)
    assert metrics.flatness(late, target[:1])[0] == pytest.approx(np.std(late[0, :, 0]) / np.std(target[0, :, 0]))
    assert not metrics.is_flat(late, target[:1])[0]
    # a forecast that moves against a constant target is not flat (inf)
    assert metrics.flatness(target[:1], target[2:])[0] == np.inf


def test_a_flat_forecast_scores_tdi_near_zero_at_any_level():
    """Why the app names flat forecasts beside TDI."""
    target = np.concatenate([np.zeros(10), np.ones(10)])[None, :, None]
    for level in (-1.0, 0.0, 0.5, 2.0):
        assert per_series(np.full((1, 20, 1), level), target)["tdi"][0] < 0.01


def test_pooled_flatness_weighs_each_series_by_how_much_its_target_moves():
    target = np.stack([np.r_[np.zeros(10), np.ones(10)], np.full(20, 0.5) + 1e-3 * (np.arange(20) % 2)])[:, :, None]
    # the first forecast is flat, the second wiggles 10 times more than its almost constant target
    pred = np.stack([np.full(20, 0.5), np.full(20, 0.5) + 1e-2 * (np.arange(20) % 2)])[:, :, None]
    assert metrics.is_flat(pred, target).tolist() == [True, False]  # half of the series, one by one
    expected = (0.0 + 0.005) / (0.5 + 0.0005)  # the stds: 0, 0.005 against 0.5, 0.0005
    assert metrics.pooled_flatness(pred, target) == pytest.approx(expected)
    assert metrics.pooled_flatness(pred, target) < metrics.FLAT_FRACTION  # the model is flat
    assert metrics.pooled_flatness(target, target) == pytest.approx(1.0)
