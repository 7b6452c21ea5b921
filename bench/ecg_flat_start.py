"""Why DILATE stalls on ECG5000 at gamma = 0.01: the soft-DTW gradient at a flat forecast.

A freshly initialised Seq2Seq forecasts an almost constant series. On z-normalised ECG5000 the
squared costs are ~100 times gamma = 0.01, so soft-DTW is hard DTW there: its path piles many
target steps onto one forecast step, and its gradient barely points where the data do. This
prints, for each data set and gamma, how far the gradient of the shape term at a flat forecast
agrees with the MSE gradient (cosine), and the most target steps matched to one forecast step.

python -m bench.ecg_flat_start
"""

import torch

from dilate_core.data import load_ecg5000, make_synthetic
from dilate_core.losses import cost_matrix, dilate_loss, soft_alignment

GAMMAS = (0.01, 0.1, 1.0)


def flat_start(target: torch.Tensor, gamma: float, seed: int = 0) -> tuple[float, int]:
    """(cosine of the shape gradient with the MSE gradient, most target steps on one forecast step)."""
    generator = torch.Generator().manual_seed(seed)
    level = target.mean()
    pred = (level + 1e-3 * torch.randn(target.shape, generator=generator, dtype=target.dtype)).requires_grad_(True)
    _, shape, _ = dilate_loss(pred, target, alpha=1.0, gamma=gamma)
    (grad,) = torch.autograd.grad(shape, pred)
    cosine = torch.nn.functional.cosine_similarity(grad.flatten(), (pred - target).detach().flatten(), dim=0)
    E = soft_alignment(cost_matrix(target, pred.detach()), gamma)  # (B, N, M)
    return float(cosine), int((E > 0.5).sum(dim=1).max())


def main() -> None:
    sets = {"synthetic": make_synthetic().test_y[:100], "ecg5000": load_ecg5000().test_y[:100]}
    print(f"{'data':<10} {'gamma':>6} | {'cos(grad, MSE grad)':>20} | {'max target steps on one step':>28}")
    for name, target in sets.items():
        target = torch.from_numpy(target).double()
        for gamma in GAMMAS:
            cosine, pile = flat_start(target, gamma)
            print(f"{name:<10} {gamma:>6g} | {cosine:>20.3f} | {pile:>28d}")


if __name__ == "__main__":
    main()
