"""DILATE as a pytorch-forecasting metric: `NHiTS.from_dataset(dataset, loss=DILATE())`.

pytorch-forecasting packs targets of several decoder lengths with zeros after each series'
end. `DILATE` scores series b on its first decoder_lengths[b] steps (through
`dilate_core.DILATELoss`'s `lengths`, not over the padding) and, with reduction="mean",
averages over series: the metric of a run is the mean of its series' DILATE. Sample weights
multiply each series' value. Needs pytorch-forecasting (imported by this module only).
"""

import torch
from pytorch_forecasting.metrics.base_metrics import MultiHorizonMetric
from pytorch_forecasting.utils import unpack_sequence
from torch.nn.utils import rnn

from dilate_core import modules


class DILATE(MultiHorizonMetric):
    """DILATE (Le Guen & Thome, NeurIPS 2019) over each series' decoder length; point forecasts, one target.

    alpha and gamma as in `dilate_core.DILATELoss` (they depend on the scale of the normalised
    target); reduction "mean" (over series) or "none" (each series' value on its steps, NaN after).
    """

    def __init__(self, alpha: float = 0.5, gamma: float = 0.01, reduction: str = "mean", **kwargs):
        if reduction not in ("mean", "none"):
            raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}.")
        super().__init__(reduction=reduction, **kwargs)
        self.loss_fn = modules.DILATELoss(alpha, gamma, reduction="none")

    def series_values(self, y_pred, target: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """DILATE of each series, (B,): the point forecast against target (B, T) on its first lengths[b] steps."""
        pred = self.to_prediction(y_pred)  # (B, T)
        return self.loss_fn(pred[..., None], target[..., None].to(pred.dtype), lengths=lengths)

    def loss(self, y_pred, target: torch.Tensor) -> torch.Tensor:
        """Each series' DILATE on every one of its T steps, (B, T) (whole series)."""
        lengths = torch.full((target.size(0),), target.size(1), dtype=torch.long)
        return self.series_values(y_pred, target, lengths)[:, None].expand(-1, target.size(1))

    def update(self, y_pred, target) -> None:
        if isinstance(target, list | tuple) and not isinstance(target, rnn.PackedSequence):
            target, weight = target
        else:
            weight = None
        if isinstance(target, rnn.PackedSequence):
            target, lengths = unpack_sequence(target)
        else:
            lengths = torch.full((target.size(0),), target.size(1), dtype=torch.long, device=target.device)
        values = self.series_values(y_pred, target, lengths)  # (B,)
        if weight is not None:
            values = values * weight.reshape(len(values), -1).mean(dim=1).to(values)
        if self.reduction == "none":  # (B, T), NaN after each series' end, as the framework's "none"
            self._update_losses_and_lengths(values[:, None].expand(-1, target.size(1)), lengths)
        else:  # a mean over series: the sum of their values and their count
            self.losses = self.losses + values.sum()
            self.lengths = self.lengths + len(values)
