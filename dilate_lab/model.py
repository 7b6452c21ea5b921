"""The DILATE paper's forecasters: a GRU sequence-to-sequence model and a one-hidden-layer MLP.

Both map inputs (B, n_input, d) to forecasts (B, n_output, d) for any batch size B and d >= 1.
"""

import torch
from torch import nn

from dilate_lab.settings import MODELS


class Seq2Seq(nn.Module):
    """GRU encoder over the whole input (one fused call), autoregressive GRU-cell decoder.

    The decoder starts from the encoder's last hidden state and the last observed value, and
    feeds each forecast back as its next input; its head is Linear(hidden, 16), ReLU,
    Linear(16, d), as in the paper's published model.
    """

    def __init__(self, n_features: int, n_output: int, hidden: int = 128):
        super().__init__()
        self.n_output = n_output
        self.encoder = nn.GRU(n_features, hidden, batch_first=True)
        self.decoder = nn.GRUCell(n_features, hidden)
        self.head = nn.Sequential(nn.Linear(hidden, 16), nn.ReLU(), nn.Linear(16, n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.encoder(x)  # (1, B, hidden)
        h = h[0]
        step_input = x[:, -1]  # (B, d): the last observed value
        outputs = []
        for _ in range(self.n_output):
            h = self.decoder(step_input, h)
            step_input = self.head(h)  # (B, d)
            outputs.append(step_input)
        return torch.stack(outputs, dim=1)  # (B, n_output, d)


class MLP(nn.Module):
    """Flattened input -> Linear(hidden) -> ReLU -> Linear(n_output * d), the paper's other model."""

    def __init__(self, n_features: int, n_input: int, n_output: int, hidden: int = 128):
        super().__init__()
        self.n_output, self.n_features = n_output, n_features
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(n_input * n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_output * n_features)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0], self.n_output, self.n_features)


def build_model(kind: str, n_features: int, n_input: int, n_output: int, hidden: int = 128) -> nn.Module:
    """A fresh forecaster of the given kind ("seq2seq" or "mlp")."""
    if kind == "seq2seq":
        return Seq2Seq(n_features, n_output, hidden)
    if kind == "mlp":
        return MLP(n_features, n_input, n_output, hidden)
    raise ValueError(f"model must be one of {', '.join(MODELS)}, got {kind!r}.")
