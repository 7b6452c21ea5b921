"""dilate_core: soft-DTW and the DILATE loss (Le Guen & Thome, NeurIPS 2019) for PyTorch, with
the metrics, data, model and training of DILATE Explorer.

    from dilate_core import DILATELoss
    loss_fn = DILATELoss(alpha=0.5, gamma=0.01)  # loss_fn(pred, target), (B, N, d) tensors

The losses need torch, numpy and numba only; `dilate_core.losses` has the functions
(`dilate_loss`, `soft_dtw`, `soft_alignment`, ...), `dilate_core.integrations` the recipes
for forecasting frameworks. Nothing here imports Streamlit.
"""

import torch

from dilate_core.threads import set_kernel_threads

__version__ = "0.2.0"
__all__ = ["DILATELoss", "SoftDTWLoss", "__version__", "set_kernel_threads", "warmup"]

_LAZY = {"DILATELoss": "dilate_core.modules", "SoftDTWLoss": "dilate_core.modules"}


def __getattr__(name: str):
    """The loss modules, imported on first use: `import dilate_core` stays light (no numba)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dilate_core' has no attribute {name!r}")


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
