"""Exact DTW, its path and TDI against tslearn's dtw_path and brute force; evaluate() means."""

import numpy as np
import pytest
import torch
from tslearn.metrics import dtw_path

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
