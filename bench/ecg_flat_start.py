"""Why DILATE stalls on ECG5000: from a flat forecast, its shape and temporal gradients cancel.

Trains the paper's Seq2Seq on ECG5000 (84 -> 56 steps, batch 100, Adam at 1e-3, gamma 0.01,
alpha 0.5) with DILATE, once from fresh weights and once after `--warmup` epochs of the MSE
loss, and prints per block of steps: the norms of the gradients of the shape term and of the
temporal term with respect to the weights (each weighted by its alpha), the cosine between
them, and the two terms. A fresh model forecasts an almost flat series. There the two
gradients have similar norms and point nearly opposite ways, so the shape term stays at a
flat forecast's level: the shape term asks for a heartbeat anywhere (warping makes its place
free), the temporal term pushes back any bump that is not yet in the right place. After the
warm-up the forecast has a shape, the shape gradient dominates, and the two no longer cancel.

    python -m bench.ecg_flat_start [--warmup 100] [--steps 240] [--block 40]
"""

import argparse

import numpy as np
import torch

from dilate_core.losses import dilate_loss
from dilate_lab.data import load_ecg5000
from dilate_lab.model import build_model

ALPHA, GAMMA, LR, BATCH = 0.5, 0.01, 1e-3, 100


def _norm(grads) -> torch.Tensor:
    return torch.sqrt(sum((g**2).sum() for g in grads))


def train_and_watch(x, y, warmup_epochs: int, steps: int, seed: int = 0) -> np.ndarray:
    """MSE for warmup_epochs, then `steps` DILATE steps; per DILATE step the row
    (shape gradient norm, temporal gradient norm, their cosine, shape term, temporal term)."""
    torch.manual_seed(seed)
    model = build_model("seq2seq", 1, x.shape[1], y.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    weights = list(model.parameters())

    def batches():
        while True:
            yield from torch.randperm(len(x), generator=generator).split(BATCH)

    order = batches()
    for _ in range(warmup_epochs * -(-len(x) // BATCH)):
        index = next(order)
        loss = torch.mean((model(x[index]) - y[index]) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    rows = []
    for _ in range(steps):
        index = next(order)
        _, shape, temporal = dilate_loss(model(x[index]), y[index], ALPHA, GAMMA)
        shape_grads = torch.autograd.grad(ALPHA * shape, weights, retain_graph=True)
        temporal_grads = torch.autograd.grad((1 - ALPHA) * temporal, weights)
        shape_norm, temporal_norm = _norm(shape_grads), _norm(temporal_grads)
        cosine = sum((a * b).sum() for a, b in zip(shape_grads, temporal_grads, strict=True)) / (
            shape_norm * temporal_norm
        )
        for weight, a, b in zip(weights, shape_grads, temporal_grads, strict=True):
            weight.grad = a + b
        optimizer.step()
        rows.append([float(value.detach()) for value in (shape_norm, temporal_norm, cosine, shape, temporal)])
    return np.array(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=100, help="MSE epochs before DILATE in the second run")
    parser.add_argument("--steps", type=int, default=240, help="DILATE steps watched in each run")
    parser.add_argument("--block", type=int, default=40, help="steps per printed row")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_ecg5000()
    x, y = torch.from_numpy(data.train_x), torch.from_numpy(data.train_y)
    flat = float(((y - y.mean()) ** 2).sum(dim=(1, 2)).mean())  # a flat forecast's best path is the diagonal
    print(f"ECG5000 train, Seq2Seq, batch {BATCH}, Adam {LR:g}, gamma {GAMMA:g}, alpha {ALPHA:g}")
    print(f"a flat forecast at the data's mean level costs about {flat:.1f} in the shape term")
    header = f"{'start':<22} | DILATE steps | |shape grad| | |temporal grad| | cosine | shape term | temporal term"
    print(header + "\n" + "-" * len(header))
    for warmup in (0, args.warmup):
        rows = train_and_watch(x, y, warmup, args.steps)
        start = "fresh weights" if warmup == 0 else f"after {warmup} MSE epochs"
        for first in range(0, len(rows), args.block):
            block = rows[first : first + args.block]
            medians = np.median(block[:, :3], axis=0)
            means = block[:, 3:].mean(axis=0)
            print(
                f"{start:<22} | {first + 1:>4}-{first + len(block):<7} | {medians[0]:>12.2f} | {medians[1]:>15.2f} "
                f"| {medians[2]:>+6.2f} | {means[0]:>10.2f} | {means[1]:>13.2f}"
            )
    print("norms and cosine: medians over the block; terms: means over the block's batches")


if __name__ == "__main__":
    main()
