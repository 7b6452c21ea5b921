"""Time soft-DTW and DILATE forward+backward against tslearn and a per-series loop; print a table.

Every row is measured in the same run, median of repeats (and of at least a second of calls), on
random series of shape (B, N, 1).
Ours: DILATE (`dilate_loss`; and with backend="matrix", the cost matrix formed and swept by the
numba kernels of `soft_dtw`, which the app's pages use because they compile faster), soft-DTW of
series (`soft_dtw_series`, the fused kernels, like tslearn's loss given the series) and soft-DTW
of a cost matrix (`soft_dtw(cost_matrix(...))`).
Baselines:
  - tslearn: `tslearn.metrics.SoftDTWLossPyTorch` (soft-DTW only), the library users pick today;
  - per-series loop: DILATE with one numba call and one CPU round trip per series per sweep, the
    structure of the published implementation, written here on our own kernels;
  - published: the authors' own `loss.dilate_loss` (github.com/vincent-leguen/DILATE), imported
    from the checkout named by DILATE_PUBLISHED (the column is left out when it is not set).
Memory: how far the first DILATE forward+backward at a shape raises the resident memory, per
cell of B*N*M (it includes the work arrays that the pool then keeps for the next calls).
A second table: `DILATELoss` on a ragged batch (`lengths=`, series cut to between half and all
of N) beside the same batch whole and beside a loop over the trimmed series; and the plain call
in several processes at once on the machine's cores, each with torch on one thread, its numba
kernels on torch's count (the default) or on every core (numba's own default).

    DILATE_PUBLISHED=/path/to/DILATE python -m bench.bench_losses [--quick]
"""

import argparse
import importlib
import multiprocessing
import os
import re
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from tslearn.metrics import SoftDTWLossPyTorch

import dilate_core
from dilate_core import DILATELoss, _kernels
from dilate_core.losses import _omega, cost_matrix, dilate_loss, soft_dtw, soft_dtw_series

GAMMA = 0.01
ALPHA = 0.5


class _PerSeriesDILATE(torch.autograd.Function):
    """DILATE's soft-DTW and alignment computed one series at a time (the published structure)."""

    @staticmethod
    def forward(ctx, D):
        B, N, M = D.shape
        values, alignments, states = [], [], []
        for b in range(B):
            Db = D[b : b + 1].detach().cpu().double().numpy()  # one round trip per series
            value, P, E = np.empty(1), np.empty((1, N + 2, M + 2, 3)), np.empty((1, N + 2, M + 2))
            _kernels.soft_dtw_forward(Db, GAMMA, P, value, 1)
            alignment = np.empty((1, N, M))
            _kernels.soft_dtw_backward(P, np.ones(1), E, alignment)
            values.append(value[0])
            alignments.append(torch.from_numpy(alignment[0]))
            states.append((P, E))
        ctx.states = states
        alignment = torch.stack(alignments)
        ctx.alignment = alignment
        return torch.tensor(values, dtype=D.dtype), alignment.to(D.dtype)

    @staticmethod
    def backward(ctx, grad_values, grad_alignment):
        grads = []
        for b, (P, E) in enumerate(ctx.states):
            Z = grad_alignment[b : b + 1].detach().double().contiguous().numpy()
            N, M = Z.shape[1:]
            R_dot, E_dot, hvp = np.empty((1, N + 2, M + 2)), np.empty((1, N + 2, M + 2)), np.empty((1, N, M))
            _kernels.soft_dtw_hvp(Z, P, E, GAMMA, R_dot, E_dot, hvp)
            grads.append(grad_values[b] * ctx.alignment[b] + torch.from_numpy(hvp[0]))
        return torch.stack(grads).to(grad_values.dtype)


def per_series_dilate(pred, target):
    D = cost_matrix(target, pred)
    values, alignment = _PerSeriesDILATE.apply(D)
    N, M = D.shape[1:]
    temporal = (alignment * _omega(N, M, D.device, D.dtype)).sum(dim=(1, 2)).mean() / (N * M)
    return ALPHA * values.mean() + (1 - ALPHA) * temporal


def published_dilate():
    """The authors' DILATE loss from the checkout at DILATE_PUBLISHED, or None when it is not set."""
    checkout = os.environ.get("DILATE_PUBLISHED")
    if not checkout:
        return None
    sys.path.insert(0, checkout)
    module = importlib.import_module("loss.dilate_loss")
    warnings.filterwarnings("ignore", message="torch.range is deprecated")  # its Omega uses torch.range

    def loss(pred, target):
        return module.dilate_loss(pred, target, ALPHA, GAMMA, pred.device)[0]

    return loss


def median_ms(step, repeats: int, least_seconds: float = 1.0) -> float:
    """Median ms of `repeats` calls of step, and of more while they take under `least_seconds`
    in all: a fast step is then timed over as long a spell as a slow one, and a short slow spell
    of a shared machine cannot take its median."""
    step()  # warm caches and compilation
    times = []
    while len(times) < repeats or sum(times) < least_seconds:
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def forward_backward(loss_fn, pred, target):
    def step():
        pred.grad = None
        loss_fn(pred, target).backward()

    return step


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return int(re.search(rf"{field}:\s+(\d+) kB", status.read()).group(1))


def peak_extra_bytes(step) -> int:
    """How far one call of step raises the resident memory above where it started (Linux)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets the peak (VmHWM) to the current resident size
    before = _status_kb("VmRSS")
    step()
    return 1024 * (_status_kb("VmHWM") - before)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes only, few repeats")
    args = parser.parse_args()
    shapes = [(100, 20, 200), (32, 100, 30), (32, 200, 10), (32, 336, 5), (32, 720, 3), (32, 1000, 3)]
    if args.quick:
        shapes = [(100, 20, 20), (32, 100, 5)]
    dilate_core.warmup()
    tslearn_loss = SoftDTWLossPyTorch(gamma=GAMMA)
    losses = {
        "DILATE (ours)": lambda p, t: dilate_loss(p, t, ALPHA, GAMMA)[0],
        "DILATE, matrix (ours)": lambda p, t: dilate_loss(p, t, ALPHA, GAMMA, "matrix")[0],
        "soft-DTW (ours)": lambda p, t: soft_dtw_series(p, t, GAMMA).mean(),
        "soft-DTW of D (ours)": lambda p, t: soft_dtw(cost_matrix(t, p), GAMMA).mean(),
        "soft-DTW (tslearn)": lambda p, t: tslearn_loss(p, t).mean(),
        "DILATE (per-series loop)": per_series_dilate,
    }
    published = published_dilate()
    if published:
        losses["DILATE (published)"] = published
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; forward+backward, median ms")
    header = f"{'B':>4} {'N=M':>5} | " + " | ".join(f"{name:>24}" for name in losses)
    header += " | tslearn/ours sDTW | loop/ours DILATE | matrix/fused DILATE"
    header += " | published/ours DILATE" if published else ""
    header += " | ns per cell (DILATE) | peak B per cell"
    print(header)
    print("-" * len(header))
    for B, N, repeats in shapes:
        generator = torch.Generator().manual_seed(0)
        pred = torch.rand(B, N, 1, generator=generator).requires_grad_(True)
        target = torch.rand(B, N, 1, generator=generator)
        memory = peak_extra_bytes(forward_backward(losses["DILATE (ours)"], pred, target)) / (B * N * N)
        ms = {name: median_ms(forward_backward(fn, pred, target), repeats) for name, fn in losses.items()}
        ratios = [
            ms["soft-DTW (tslearn)"] / ms["soft-DTW (ours)"],
            ms["DILATE (per-series loop)"] / ms["DILATE (ours)"],
            ms["DILATE, matrix (ours)"] / ms["DILATE (ours)"],
        ]
        if published:
            ratios.append(ms["DILATE (published)"] / ms["DILATE (ours)"])
        ns_per_cell = 1e6 * ms["DILATE (ours)"] / (B * N * N)
        row = f"{B:>4} {N:>5} | " + " | ".join(f"{ms[name]:>24.3f}" for name in losses)
        widths = (17, 16, 19, 22)
        row += "".join(f" | {ratio:>{width}.1f}" for ratio, width in zip(ratios, widths, strict=False))
        row += f" | {ns_per_cell:>20.1f} | {memory:>16.0f}"
        print(row, flush=True)
    ragged_and_shared(args.quick)
    if not args.quick:
        # In a process of its own: memory the rows above freed stays resident here, and a
        # call that reuses it would read as adding none.
        child = multiprocessing.get_context("spawn").Process(target=largest_batch)
        child.start()
        child.join()


def ragged_and_shared(quick: bool) -> None:
    """The second table: ragged batches, and processes sharing the cores."""
    B, N = (32, 50) if quick else (32, 200)
    generator = torch.Generator().manual_seed(1)
    pred = torch.rand(B, N, 1, generator=generator).requires_grad_(True)
    target = torch.rand(B, N, 1, generator=generator)
    lengths = torch.randint(N // 2, N + 1, (B,), generator=generator)
    loss_fn = DILATELoss(ALPHA, GAMMA)

    def trimmed_loop(p, t):
        return torch.stack([loss_fn(p[b : b + 1, :n], t[b : b + 1, :n]) for b, n in enumerate(lengths.tolist())]).mean()

    whole = median_ms(forward_backward(loss_fn, pred, target), 20)
    ragged = median_ms(forward_backward(lambda p, t: loss_fn(p, t, lengths=lengths), pred, target), 20)
    loop = median_ms(forward_backward(trimmed_loop, pred, target), 5)
    processes = max(3, os.cpu_count() or 3)
    seconds = 1.0 if quick else 3.0
    print(f"\nDILATELoss forward+backward, B={B}, N=M={N}, float32, median ms")
    header = f"{'case':<58} | {'ms':>8} | ratio"
    print(header)
    print("-" * len(header))
    rows = [
        ("whole batch", whole, ""),
        (f"ragged batch, lengths= (from {N // 2} to {N})", ragged, f"{ragged / whole:.2f} of whole"),
        ("loop over the trimmed series", loop, f"{loop / ragged:.1f}x ragged"),
    ]
    alone = shared_cores_ms(1, None, B, N, seconds)
    capped = shared_cores_ms(processes, None, B, N, seconds)
    uncapped = shared_cores_ms(processes, 0, B, N, seconds)
    rows += [
        ("1 process, torch on 1 thread, numba on torch's count", alone, ""),
        (f"{processes} processes at once, numba on torch's count (default)", capped, f"{capped / alone:.1f}x alone"),
        (f"{processes} processes at once, numba on every core", uncapped, f"{uncapped / capped:.1f}x capped"),
    ]
    for name, ms, ratio in rows:
        print(f"{name:<58} | {ms:>8.3f} | {ratio}", flush=True)


def shared_cores_ms(processes: int, kernel_threads: int | None, B: int, N: int, seconds: float) -> float:
    """The median over `processes` processes, started together, of each one's median ms per
    DILATELoss forward+backward over `seconds`; torch on one thread in each, numba's kernels on
    `kernel_threads` (None: torch's count; 0: every core, numba's default)."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(processes), context.Queue()
    args = (kernel_threads, B, N, seconds, ready, results)
    workers = [context.Process(target=_timed_calls, args=args) for _ in range(processes)]
    for worker in workers:
        worker.start()
    medians = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    return statistics.median(medians)


def _timed_calls(kernel_threads, B, N, seconds, ready, results) -> None:
    import numba

    torch.set_num_threads(1)
    dilate_core.set_kernel_threads(numba.config.NUMBA_NUM_THREADS if kernel_threads == 0 else kernel_threads)
    dilate_core.warmup()
    generator = torch.Generator().manual_seed(0)
    pred = torch.rand(B, N, 1, generator=generator).requires_grad_(True)
    target = torch.rand(B, N, 1, generator=generator)
    step = forward_backward(DILATELoss(ALPHA, GAMMA), pred, target)
    step()
    ready.wait()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds:
        begin = time.perf_counter()
        step()
        times.append(time.perf_counter() - begin)
    results.put(1e3 * statistics.median(times))


def largest_batch() -> None:
    """DILATE forward+backward at B = 32, N = M = 2000, where the default memory limit splits the batch."""
    dilate_core.warmup()
    for dtype in (torch.float32, torch.float64):
        generator = torch.Generator().manual_seed(0)
        pred = torch.rand(32, 2000, 1, generator=generator, dtype=dtype).requires_grad_(True)
        target = torch.rand(32, 2000, 1, generator=generator, dtype=dtype)
        step = forward_backward(lambda p, t: dilate_loss(p, t, ALPHA, GAMMA)[0], pred, target)
        start = time.perf_counter()
        extra = peak_extra_bytes(step)
        first = time.perf_counter() - start
        start = time.perf_counter()
        step()  # its work arrays come from the pool now
        again = time.perf_counter() - start
        print(
            f"B=32, N=M=2000, {str(dtype)[6:]}: first call {first:.2f} s, peak added memory "
            f"{extra / 2**30:.2f} GiB; next call {again:.2f} s"
        )


if __name__ == "__main__":
    main()
