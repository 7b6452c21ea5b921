"""The overview's picture: one step target and two wrong forecasts, scored by every loss."""

import numpy as np
import torch

from dilate_core.losses import dilate_loss
from dilate_core.metrics import per_series


def step_example(length: int = 40, at: int = 20, shift: int = 4, gamma: float = 0.01) -> dict:
    """Target: a unit step at `at`. 'smooth': a ramp across the step (what MSE training tends to
    give); 'late': the right step `shift` steps late. Returns the series and each one's scores."""
    t = np.arange(length)
    series = {
        "target": (t >= at).astype(float),
        "smooth": np.clip((t - at + 6) / 12, 0, 1),
        "late": (t >= at + shift).astype(float),
    }
    target = torch.tensor(series["target"])[None, :, None]
    scores = {}
    for name in ("smooth", "late"):
        forecast = torch.tensor(series[name])[None, :, None]
        loss, shape, temporal = dilate_loss(forecast, target, alpha=0.5, gamma=gamma)
        paper = per_series(forecast, target)
        scores[name] = {
            "MSE": float(paper["mse"][0]),
            "DTW": float(paper["dtw"][0]),
            "TDI": float(paper["tdi"][0]),
            "soft-DTW (shape)": float(shape),
            "temporal": float(temporal),
            "DILATE": float(loss),
        }
    return {"series": series, "scores": scores}
