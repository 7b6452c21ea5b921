"""The loss playground: one step target, forecasts made from it, and how each loss scores them.

Series here are 1-D arrays of one feature, shape (N,); every loss is evaluated in float64 on
the batch of forecasts at once, so a whole curve (one loss per shift) costs one kernel call.
"""

import numpy as np
import torch

from dilate_core.losses import dilate_loss, soft_dtw_divergence
from dilate_core.metrics import per_series

LOSS_NAMES = ("MSE", "soft-DTW", "temporal", "DILATE", "divergence")


def step_target(length: int = 40, position: int = 20, height: float = 1.0, noise: float = 0.0, seed: int = 0):
    """A step of `height` from index `position` on, plus Gaussian noise of deviation `noise`: (length,)."""
    if not 4 <= length <= 200 or not 1 <= position < length:
        raise ValueError(f"Need 4 <= length <= 200 and 1 <= position < length, got {length} and {position}.")
    series = np.where(np.arange(length) >= position, float(height), 0.0)
    return series + noise * np.random.default_rng(seed).standard_normal(length)


def forecast_from(target: np.ndarray, shift: int = 0, scale: float = 1.0, smooth: int = 0) -> np.ndarray:
    """A forecast made from the target: delayed by `shift` steps (early if negative, edges held),
    its deviation from the first value scaled by `scale`, then averaged over 2 * smooth + 1 steps."""
    n = len(target)
    index = np.clip(np.arange(n) - shift, 0, n - 1)
    forecast = target[0] + scale * (target[index] - target[0])
    if smooth > 0:
        padded = np.pad(forecast, smooth, mode="edge")
        forecast = np.convolve(padded, np.ones(2 * smooth + 1) / (2 * smooth + 1), mode="valid")
    return forecast


def _as_batch(series) -> torch.Tensor:
    return torch.tensor(np.asarray(series, dtype=np.float64))[..., None]  # (..., N, 1), a copy


def losses(forecasts, target, alpha: float = 0.5, gamma: float = 0.01) -> dict[str, np.ndarray]:
    """Every loss of each forecast (K, N) against one target (N,): name -> (K,) values."""
    forecasts = np.atleast_2d(forecasts)
    pred = _as_batch(forecasts)  # (K, N, 1)
    target_batch = _as_batch(target)[None].expand(len(forecasts), -1, -1)
    values = {name: [] for name in LOSS_NAMES}
    for k in range(len(forecasts)):  # per forecast: dilate_loss averages over its batch
        loss, shape, temporal = dilate_loss(pred[k : k + 1], target_batch[k : k + 1], alpha, gamma)
        values["DILATE"].append(float(loss))
        values["soft-DTW"].append(float(shape))
        values["temporal"].append(float(temporal))
    values["MSE"] = ((pred - target_batch) ** 2).mean(dim=(1, 2)).tolist()
    values["divergence"] = soft_dtw_divergence(pred, target_batch, gamma).tolist()
    return {name: np.array(v) for name, v in values.items()}


SHIFTS = np.arange(-10, 11)  # steps of delay (negative: early)
SCALES = np.linspace(0.0, 2.0, 21)  # step height relative to the target's


def curves(target, alpha: float = 0.5, gamma: float = 0.01, shifts=SHIFTS, scales=SCALES):
    """Each loss as a function of the time shift and of the height scale of a forecast made from
    the target: {'shift': (shifts, name -> values), 'scale': (scales, name -> values)}."""
    shifts, scales = np.asarray(list(shifts)), np.asarray(scales)
    by_shift = losses(np.stack([forecast_from(target, shift=int(s)) for s in shifts]), target, alpha, gamma)
    by_scale = losses(np.stack([forecast_from(target, scale=float(c)) for c in scales]), target, alpha, gamma)
    return {"shift": (shifts, by_shift), "scale": (scales, by_scale)}


def gradients(forecast, target, alpha: float = 0.5, gamma: float = 0.01) -> dict[str, np.ndarray]:
    """d loss / d forecast[j] for every loss: name -> (N,), where one step of descent would move it."""
    out = {}
    for name in LOSS_NAMES:
        pred = _as_batch(forecast)[None].clone().requires_grad_(True)  # (1, N, 1)
        target_batch = _as_batch(target)[None]
        if name == "MSE":
            value = ((pred - target_batch) ** 2).mean()
        elif name == "divergence":
            value = soft_dtw_divergence(pred, target_batch, gamma).sum()
        else:
            loss, shape, temporal = dilate_loss(pred, target_batch, alpha, gamma)
            value = {"soft-DTW": shape, "temporal": temporal, "DILATE": loss}[name]
        (grad,) = torch.autograd.grad(value, pred)
        out[name] = grad[0, :, 0].numpy()
    return out


def scorecard(forecasts: dict[str, np.ndarray], target, alpha: float = 0.5, gamma: float = 0.01) -> dict:
    """name -> {measure: value}: the paper's metrics (MSE, DTW, TDI) and every loss of each forecast (N,)."""
    names = list(forecasts)
    stacked = np.stack([forecasts[name] for name in names])  # (K, N)
    scores = losses(stacked, target, alpha, gamma)
    metrics = per_series(_as_batch(stacked), _as_batch(target)[None].expand(len(names), -1, -1))
    return {
        name: {"MSE": float(metrics["mse"][k]), "DTW": float(metrics["dtw"][k]), "TDI": float(metrics["tdi"][k])}
        | {loss: float(values[k]) for loss, values in scores.items() if loss != "MSE"}
        for k, name in enumerate(names)
    }
