"""dilate_core: soft-DTW and the DILATE loss (Le Guen & Thome, NeurIPS 2019) for PyTorch, with
the paper's metrics and its synthetic benchmark data.

    from dilate_core import DILATELoss
    loss_fn = DILATELoss(alpha=0.5, gamma=0.01)  # loss_fn(pred, target), (B, N, d) tensors

The losses need torch, numpy and numba only; `dilate_core.losses` has the functions
(`dilate_loss`, `soft_dtw`, `soft_alignment`, ...), `dilate_core.integrations` the recipes
for forecasting frameworks. Nothing here imports Streamlit.
"""

import torch

from dilate_core.threads import set_kernel_threads

__version__ = "0.3.0"
__all__ = ["DILATELoss", "SoftDTWDivergenceLoss", "SoftDTWLoss", "__version__", "set_kernel_threads", "warmup"]

_LAZY = {name: "dilate_core.modules" for name in ("DILATELoss", "SoftDTWLoss", "SoftDTWDivergenceLoss")}


def __getattr__(name: str):
    """The loss modules, imported on first use: `import dilate_core` stays light (no numba)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dilate_core' has no attribute {name!r}")


def warmup(dtypes=(torch.float32, torch.float64)) -> None:
    """Compile every numba kernel the library calls for series of each dtype in `dtypes`, or load
    them from numba's disk cache (`NUMBA_CACHE_DIR`, else `__pycache__` beside the package).

    It calls every loss forward and backward, the cost-matrix sweeps (`backend="matrix"`,
    `soft_dtw`, `soft_alignment` and its derivative) and the metrics on tiny series, so that each
    specialisation compiled is exactly the one a real call uses. Run it once per environment (a
    container image's build, each node of a cluster) and the first real call starts at once.
    """
    from dilate_core import losses, metrics

    for dtype in dtypes:
        pred = torch.rand(2, 3, 1, dtype=dtype, requires_grad=True)  # (B, M, d)
        target = torch.rand(2, 4, 1, dtype=dtype)  # (B, N, d)
        total = losses.dilate_loss(pred, target, alpha=0.5, gamma=0.1)[0]
        total = total + losses.dilate_loss(pred, target, alpha=0.5, gamma=0.1, backend="matrix")[0]
        total = total + losses.soft_dtw_divergence(pred, target, gamma=0.1).sum()
        total = total + losses.dilate_t_loss(pred, target, gamma=0.1)
        D = losses.cost_matrix(target, pred)  # (B, N, M)
        total = total + losses.soft_dtw(D, 0.1).sum() + losses.soft_alignment(D, 0.1).square().sum()
        total.backward()
        metrics.evaluate(pred.detach(), target)
    metrics.swinging_door(torch.rand(2, 5).numpy())
