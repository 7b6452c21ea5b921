"""The playground's curves as facts about the losses, and its gradients against finite differences."""

import numpy as np
import pytest

from dilate_core import playground as pg

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


def test_gradients_equal_finite_differences():
    forecast = pg.forecast_from(pg.step_target(12, 6, 1.0, 0.1, seed=1), shift=2, smooth=1)
    target = pg.step_target(12, 6, 1.0, 0.1, seed=1)
    grads = pg.gradients(forecast, target, alpha=0.5, gamma=0.1)
    eps = 1e-6
    for j in (0, 5, 7, 11):
        up, down = forecast.copy(), forecast.copy()
        up[j] += eps
        down[j] -= eps
        plus, minus = pg.losses(up, target, 0.5, 0.1), pg.losses(down, target, 0.5, 0.1)
        for name in pg.LOSS_NAMES:
            numeric = (plus[name][0] - minus[name][0]) / (2 * eps)
            assert grads[name][j] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (name, j)


def test_bad_step_settings_are_rejected():
    with pytest.raises(ValueError, match="position < length"):
        pg.step_target(length=10, position=10)
