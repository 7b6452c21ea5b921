"""Figure 5(a): DILATE forward+backward with our custom backward against plain autograd.

The autograd version runs the same soft-DTW recursion (Cuturi & Blondel 2017, Algorithm 1) in
torch operations, one anti-diagonal at a time (batched over series and over the cells of the
diagonal), takes E = d softDTW / dD with create_graph=True and lets autograd differentiate the
temporal term through that graph (a double backward): what one writes without a custom backward.
Both are timed in the same run, median of repeats, batch B of random series of length k.

    python -m bench.figure5a [--quick]

Writes results/figure5a/figure5a.csv (k; ours and autograd: median and quartiles in ms; the speed-up
of the medians, and its low and high ends from the quartiles; repeats), which the Paper page plots.
"""

import argparse
import csv
import statistics
import time

import torch

import dilate_core
from dilate_core.losses import _omega, cost_matrix, dilate_loss
from dilate_lab.paper import FIGURE5A_SPEEDUPS, RESULTS

ALPHA, GAMMA, BATCH = 0.5, 0.01, 100
LENGTHS = (5, 10, 20, 30, 50, 75, 100)
FAR = 1e10  # stands for +inf outside the grid: finite, so that autograd's gradients stay finite


def autograd_soft_dtw(D: torch.Tensor, gamma: float) -> torch.Tensor:
    """soft-DTW values (B,) of costs (B, N, M), by anti-diagonals, differentiable by autograd (twice)."""
    B, N, M = D.shape
    rows = torch.arange(N + 1)
    # diagonal s holds R[i, s - i] for i = 0..N (FAR where (i, s - i) is off the grid)
    before_last = torch.full((B, N + 1), FAR, dtype=D.dtype)
    before_last[:, 0] = 0.0  # s = 0: R[0, 0] = 0
    last = torch.full((B, N + 1), FAR, dtype=D.dtype)  # s = 1: R[0, 1] and R[1, 0] are boundary
    far_column = torch.full((B, 1), FAR, dtype=D.dtype)
    for s in range(2, N + M + 1):
        columns = s - rows
        inside = (rows >= 1) & (columns >= 1) & (columns <= M)
        costs = D[:, (rows[inside] - 1), (columns[inside] - 1)]
        diagonal = torch.cat([far_column, before_last[:, :-1]], dim=1)[:, inside]  # R[i-1, j-1]
        up = torch.cat([far_column, last[:, :-1]], dim=1)[:, inside]  # R[i-1, j]
        left = last[:, inside]  # R[i, j-1]
        previous = torch.stack([diagonal, up, left], dim=-1)
        values = costs - gamma * torch.logsumexp(-previous / gamma, dim=-1)
        current = torch.full((B, N + 1), FAR, dtype=D.dtype).index_put((torch.arange(B)[:, None], rows[inside]), values)
        before_last, last = last, current
    return last[:, N]


def autograd_dilate(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    D = cost_matrix(target, pred)
    N, M = D.shape[1:]
    values = autograd_soft_dtw(D, GAMMA)
    (alignment,) = torch.autograd.grad(values.sum(), D, create_graph=True)
    temporal = (alignment * _omega(N, M, D.device, D.dtype)).sum(dim=(1, 2)).mean() / (N * M)
    return ALPHA * values.mean() + (1 - ALPHA) * temporal


def ours(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return dilate_loss(pred, target, ALPHA, GAMMA)[0]


def quartiles_ms(loss_fn, pred, target, repeats: int) -> tuple[float, float, float]:
    """(first quartile, median, third quartile) in ms of `repeats` timed calls, after one untimed."""
    times = []
    for _ in range(repeats + 1):  # the first call warms caches and compilation
        pred.grad = None
        start = time.perf_counter()
        loss_fn(pred, target).backward()
        times.append(time.perf_counter() - start)
    q1, median, q3 = statistics.quantiles(times[1:], n=4)
    return 1e3 * q1, 1e3 * median, 1e3 * q3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="k up to 20, few repeats")
    parser.add_argument("--threads", type=int, help="torch and numba threads (default: theirs, every core)")
    args = parser.parse_args()
    if args.threads:
        import numba

        torch.set_num_threads(args.threads)
        numba.set_num_threads(args.threads)
    dilate_core.warmup()
    lengths = [k for k in LENGTHS if k <= 20] if args.quick else LENGTHS
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; B = {BATCH}, forward+backward, median ms")
    print(f"{'k':>4} | {'ours':>9} | {'autograd':>10} | {'speed-up':>8} | paper")
    rows = []
    for k in lengths:
        generator = torch.Generator().manual_seed(k)
        target = torch.randn(BATCH, k, 1, generator=generator, dtype=torch.float64)
        pred = torch.randn(BATCH, k, 1, generator=generator, dtype=torch.float64, requires_grad=True)
        check = (
            torch.autograd.grad(ours(pred, target), pred)[0],
            torch.autograd.grad(autograd_dilate(pred, target), pred)[0],
        )
        torch.testing.assert_close(*check, rtol=1e-6, atol=1e-9)  # the same gradient, or the timing means nothing
        repeats = 3 if args.quick else 9
        ours_q1, ours_ms, ours_q3 = quartiles_ms(ours, pred, target, repeats)
        autograd_q1, autograd_ms, autograd_q3 = quartiles_ms(autograd_dilate, pred, target, repeats)
        reported = FIGURE5A_SPEEDUPS.get(k)
        print(f"{k:>4} | {ours_ms:>9.2f} | {autograd_ms:>10.1f} | {autograd_ms / ours_ms:>8.1f} | {reported or ''}")
        rows.append(
            {"k": k, "ours_ms": ours_ms, "ours_q1_ms": ours_q1, "ours_q3_ms": ours_q3}
            | {"autograd_ms": autograd_ms, "autograd_q1_ms": autograd_q1, "autograd_q3_ms": autograd_q3}
            | {"speedup": autograd_ms / ours_ms, "speedup_low": autograd_q1 / ours_q3}
            | {"speedup_high": autograd_q3 / ours_q1, "repeats": repeats}
        )
    if not args.quick:
        folder = RESULTS / "figure5a"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "figure5a.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows([{key: f"{value:.6g}" for key, value in row.items()} for row in rows])
        print(f"wrote {folder / 'figure5a.csv'}")


if __name__ == "__main__":
    main()
