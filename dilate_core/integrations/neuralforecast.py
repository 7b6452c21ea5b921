"""DILATE as a neuralforecast loss: `NHITS(h=24, input_size=48, loss=DILATE())`.

neuralforecast calls a point loss as loss(y, y_hat, y_insample, mask) on (B, h, n) tensors, n
series side by side (1 for the univariate models). `DILATE` scores each of the B * n series on
its own, on the steps its mask marks available: a mask must mark a prefix of the horizon (a
series that ends early), which becomes the series' length; a mask with gaps is refused.
Needs neuralforecast (imported by this module only).
"""

import torch
from neuralforecast.losses.pytorch import BasePointLoss

from dilate_core import modules


class DILATE(BasePointLoss):
    """DILATE (Le Guen & Thome, NeurIPS 2019), the mean over series; alpha and gamma as in
    `dilate_core.DILATELoss` (they depend on the scale the model is trained on)."""

    def __init__(self, alpha: float = 0.5, gamma: float = 0.01):
        super().__init__(horizon_weight=None, outputsize_multiplier=1, output_names=[""])
        self.loss_fn = modules.DILATELoss(alpha, gamma, reduction="none")

    def __call__(self, y: torch.Tensor, y_hat: torch.Tensor, y_insample=None, mask=None) -> torch.Tensor:
        B, h, n = y.shape
        series = (x.permute(0, 2, 1).reshape(B * n, h, 1) for x in (y_hat, y))  # each of the n series alone
        pred, target = series
        lengths = None
        if mask is not None:
            available = mask.permute(0, 2, 1).reshape(B * n, h) > 0
            lengths = available.sum(dim=1)
            prefix = torch.arange(h, device=available.device)[None, :] < lengths[:, None]
            if not torch.equal(available, prefix):
                raise ValueError("DILATE scores a series on its first steps: its mask must mark a prefix of h.")
            scored = lengths > 0  # a series with nothing available adds nothing
            pred, target, lengths = pred[scored], target[scored], lengths[scored]
            if len(lengths) == 0:
                return (y_hat * 0).sum()
        return self.loss_fn(pred, target.to(pred.dtype), lengths=lengths).mean()
