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


# The compile plan: each group names what one use needs compiled, in the order the app needs
# them (a page's scores first, training's float32 kernels in the workers, the paper's evaluation;
# last, float64 series through the fused kernels, which the app never calls).
# `warmup(group)` compiles a group's kernels (or loads them from numba's disk cache) by calling
# them on tiny inputs, so each specialisation is exactly the one a real call uses.
KERNEL_GROUPS = ("scores", "gradients", "alignments", "training", "evaluation", "float64")


def _series(n: int, dtype: torch.dtype, grad: bool = False) -> torch.Tensor:
    return torch.rand(2, n, 1, dtype=dtype, requires_grad=grad)  # (B, N, d)


def _scores() -> None:
    """float64 loss values and the paper's metrics as the app's pages compute them, on the cost
    matrix (`playground.BACKEND`): the Overview's scorecard, the playground's numbers."""
    from dilate_core import metrics, playground

    target = torch.rand(4).numpy()
    playground.losses(torch.rand(2, 4).numpy(), target)
    metrics.per_series(_series(3, torch.float64), _series(4, torch.float64))  # exact DTW, float64 whatever the input


def _gradients() -> None:
    """float64 gradients of every loss of the playground, on the cost matrix: its bars."""
    from dilate_core import playground

    playground.gradients(torch.rand(4).numpy(), torch.rand(4).numpy())


def _alignments() -> None:
    """The soft path map of a float64 cost matrix: the playground's and Alignments' maps."""
    from dilate_core import losses

    losses.soft_alignment(losses.cost_matrix(_series(4, torch.float64), _series(3, torch.float64)), 0.1)


def _training() -> None:
    """float32 losses and gradients as training calls them (soft-DTW on cost matrices for DILATE_t)."""
    from dilate_core import losses

    pred, target = _series(3, torch.float32, grad=True), _series(4, torch.float32)
    loss, _, _ = losses.dilate_loss(pred, target, alpha=0.5, gamma=0.1)
    divergence = losses.soft_dtw_divergence(pred, target, gamma=0.1).sum()
    (loss + divergence + losses.dilate_t_loss(pred, target, gamma=0.1)).backward()


def _evaluation() -> None:
    """The cost-matrix sweeps' second derivative (soft_alignment's backward) from both dtypes,
    and Table 2's swinging door."""
    from dilate_core import losses, metrics

    for dtype in (torch.float32, torch.float64):
        D = losses.cost_matrix(_series(4, dtype), _series(3, dtype, grad=True))
        values = losses.soft_dtw(D, 0.1)
        alignment = losses.soft_alignment(D, 0.1)
        (values.sum() + alignment.square().sum()).backward()
    metrics.swinging_door(torch.rand(2, 5).numpy())


def _float64() -> None:
    """float64 series through the fused kernels, the losses' default on the CPU (the app's pages
    use the cost matrix instead, and its jobs train in float32): values and gradients."""
    from dilate_core import losses

    pred, target = _series(3, torch.float64, grad=True), _series(4, torch.float64)
    loss, _, _ = losses.dilate_loss(pred, target, alpha=0.5, gamma=0.1)
    (loss + losses.soft_dtw_divergence(pred, target, gamma=0.1).sum()).backward()


_WARMERS = {
    "scores": _scores,
    "gradients": _gradients,
    "alignments": _alignments,
    "training": _training,
    "evaluation": _evaluation,
    "float64": _float64,
}


def warmup(groups=KERNEL_GROUPS) -> None:
    """Compile the numba kernels of each group in `groups` (default: every kernel), or load
    them from the on-disk cache, on tiny inputs, in the order given. See KERNEL_GROUPS."""
    for group in groups:
        _WARMERS[group]()
