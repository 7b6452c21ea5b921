"""DILATE for darts' torch models: `NBEATSModel(..., loss_fn=DILATELoss())`.

darts calls the loss on (B, horizon, components) forecasts and targets. With `sample_weight`,
darts sets `loss_fn.reduction = "none"`, multiplies the loss by the weights (B, horizon,
components) and averages: here "none" spreads each series' DILATE over its cells, so each
series' loss is weighted by the mean of its weights. darts itself is not imported.
"""

import torch

from dilate_core import modules


class DILATELoss(modules.DILATELoss):
    """`dilate_core.DILATELoss` shaped for darts: (B, N) inputs are univariate series, and
    reduction="none" returns the inputs' shape, each series' value on all its cells."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        shape = pred.shape
        if pred.dim() == 2:  # (B, N): one component
            pred, target = pred[..., None], target[..., None]
        loss = super().forward(pred, target, lengths)
        if self.reduction != "none":
            return loss
        return loss.reshape(-1, *[1] * (len(shape) - 1)).expand(shape)
