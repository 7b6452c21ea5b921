"""Train a small forecaster with DILATE in plain PyTorch, on the paper's synthetic step series.

python examples/plain_pytorch.py
"""

import torch
from torch import nn

from dilate_core import DILATELoss
from dilate_core.data import make_synthetic

INPUT, HORIZON = 20, 20


def main(epochs: int = 3) -> None:
    torch.manual_seed(0)
    data = make_synthetic(n=256, n_input=INPUT, n_output=HORIZON, seed=0)
    train_x, train_y = torch.from_numpy(data.train_x), torch.from_numpy(data.train_y)  # (n, 20, 1) each
    model = nn.Sequential(nn.Flatten(), nn.Linear(INPUT, 64), nn.ReLU(), nn.Linear(64, HORIZON))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = DILATELoss(alpha=0.5, gamma=0.01)
    for epoch in range(epochs):
        for batch in torch.split(torch.arange(len(train_x)), 32):
            pred = model(train_x[batch]).unsqueeze(-1)  # (B, HORIZON, 1)
            loss = loss_fn(pred, train_y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        print(f"epoch {epoch}: DILATE {loss.item():.4f}")


if __name__ == "__main__":
    main()
