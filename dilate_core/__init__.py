"""DILATE Explorer's core: soft-DTW kernels, the DILATE loss, metrics, data, model and training.

Nothing here imports Streamlit; everything the app shows can be computed from Python.
"""

import torch


def warmup() -> None:
    """Compile every numba kernel once (or load it from the on-disk cache) on tiny inputs.

    The kernels read and write the caller's dtype, so both float32 (training) and float64 run.
    """
    from dilate_core import losses, metrics

    for dtype in (torch.float32, torch.float64):
        series = torch.rand(2, 3, 1, dtype=dtype, requires_grad=True)
        loss, _, _ = losses.dilate_loss(series, torch.rand(2, 4, 1, dtype=dtype), alpha=0.5, gamma=0.1)
        loss.backward()
    metrics.evaluate(series.detach(), series.detach())  # float64 inside, whatever the input
