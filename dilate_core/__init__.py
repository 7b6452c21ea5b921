"""DILATE Explorer's core: soft-DTW kernels, the DILATE loss, metrics, data, model and training.

Nothing here imports Streamlit; everything the app shows can be computed from Python.
"""

import torch


def warmup() -> None:
    """Compile every numba kernel once (or load it from the on-disk cache) on tiny inputs."""
    from dilate_core import losses, metrics

    series = torch.rand(2, 3, 1, dtype=torch.float64, requires_grad=True)
    loss, _, _ = losses.dilate_loss(series, torch.rand(2, 4, 1, dtype=torch.float64), alpha=0.5, gamma=0.1)
    loss.backward()
    metrics.evaluate(series.detach(), series.detach())
