"""The app's compile plan: the numba kernels each use of the app calls, in groups, in the order the
app needs them (a page's scores first, training's float32 kernels in the workers, the paper's
evaluation). `warm(groups)` compiles a group's kernels (or loads them from numba's disk cache) by
calling them on tiny inputs, so each specialisation is exactly the one a real call uses.

The library's own `dilate_core.warmup()` compiles every kernel, for both dtypes; the app needs
fewer (its pages score on the cost matrix in float64, its jobs train in float32), sooner.
"""

import torch

KERNEL_GROUPS = ("scores", "gradients", "alignments", "training", "evaluation")


def _series(n: int, dtype: torch.dtype, grad: bool = False) -> torch.Tensor:
    return torch.rand(2, n, 1, dtype=dtype, requires_grad=grad)  # (B, N, d)


def _scores() -> None:
    """float64 loss values and the paper's metrics as the app's pages compute them, on the cost
    matrix (`playground.BACKEND`): the Overview's scorecard, the playground's numbers."""
    from dilate_core import metrics
    from dilate_lab import playground

    target = torch.rand(4).numpy()
    playground.losses(torch.rand(2, 4).numpy(), target)
    metrics.per_series(_series(3, torch.float64), _series(4, torch.float64))  # exact DTW, float64 whatever the input


def _gradients() -> None:
    """float64 gradients of every loss of the playground, on the cost matrix: its bars."""
    from dilate_lab import playground

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


_WARMERS = {
    "scores": _scores,
    "gradients": _gradients,
    "alignments": _alignments,
    "training": _training,
    "evaluation": _evaluation,
}


def warm(groups=KERNEL_GROUPS) -> None:
    """Compile (or load from the disk cache) the kernels of each group in `groups`, in that order."""
    for group in groups:
        _WARMERS[group]()
