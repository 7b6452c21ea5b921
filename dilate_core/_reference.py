"""Soft-DTW and its expected alignment written with differentiable torch operations alone.

The fast back-ends return gradients that carry no graph: their backward is a numba or torch
sweep. When a gradient is taken with create_graph=True (a gradient penalty, a Hessian-vector
product, `gradgradcheck`), the losses' backward recomputes its outputs here instead, and
autograd differentiates this code to any order. It sweeps the anti-diagonals i + j = k, one
(B, N + 1) tensor per diagonal indexed by the row i, in float64; slower than the kernels
(N + M steps of a few small operations each), and only run for such gradients.
"""

import torch

# Stands in for the infinite R of the cells no path reaches: exp(-BIG / gamma) is 0 next to any
# real path, and, unlike inf, its logsumexp has a finite gradient (inf - inf would give NaN).
BIG = 1e10


def soft_dtw_values(D: torch.Tensor, gamma: float, ends=None) -> torch.Tensor:
    """R[N_b, M_b] of each cost matrix: D (B, N, M) -> (B,) float64, differentiable to any order.

    ends : None (every grid whole) or (rows, columns), two (B,) integer arrays or tensors: pair b
    ends at cell (rows[b], columns[b]) of its grid, as the back-ends' `ends` do.
    """
    B, N, M = D.shape
    D = D.to(torch.float64)
    rows = torch.arange(1, N + 1, device=D.device)  # i of the cells of a diagonal, (N,)
    edge = D.new_full((B, 1), BIG)  # the column i = 0 of every diagonal but the first
    before_last = torch.cat([D.new_zeros(B, 1), D.new_full((B, N), BIG)], dim=1)  # k = 0: R[0, 0] = 0
    last = D.new_full((B, N + 1), BIG)  # k = 1: the border
    diagonals = [before_last, last]
    for k in range(2, N + M + 1):
        columns = k - rows
        inside = (columns >= 1) & (columns <= M)
        costs = D[:, rows - 1, columns.clamp(1, M) - 1]  # (B, N)
        # R[i - 1, j - 1] (diagonal k - 2), R[i - 1, j] and R[i, j - 1] (diagonal k - 1).
        neighbours = torch.stack([before_last[:, :-1], last[:, :-1], last[:, 1:]])
        softmin = -gamma * torch.logsumexp(-neighbours / gamma, dim=0)
        current = torch.cat([edge, torch.where(inside, costs + softmin, BIG)], dim=1)
        diagonals.append(current)
        before_last, last = last, current
    if ends is None:
        return diagonals[-1][:, N]
    end_rows, end_columns = (torch.as_tensor(end, device=D.device, dtype=torch.int64) for end in ends)
    grid = torch.stack(diagonals)  # (N + M + 1, B, N + 1)
    return grid[end_rows + end_columns, torch.arange(B, device=D.device), end_rows]


def soft_dtw_and_alignment(D: torch.Tensor, gamma: float, ends=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(values (B,), E (B, N, M)), both float64 and differentiable to any order; E = d values / dD.

    D must be part of a graph (requires_grad, or computed from a tensor that does)."""
    values = soft_dtw_values(D, gamma, ends)
    (alignment,) = torch.autograd.grad(values.sum(), D, create_graph=True)
    return values, alignment.to(torch.float64)


def recomputed_gradients(ctx, inputs, outputs, grads, arguments: int) -> tuple:
    """The gradients a Function's backward returns, taken through outputs recomputed with a graph.

    inputs : the Function's tensor arguments (the first len(inputs) of its `arguments`), as its
    backward holds them; outputs : its outputs recomputed from them, differentiable; grads : the
    gradients that reached its outputs (None for an unused one). Returns one entry per argument,
    carrying a graph, so that the gradient can be differentiated again.
    """
    used = [(out, grad) for out, grad in zip(outputs, grads, strict=True) if grad is not None and out.requires_grad]
    wanted = [index for index in range(len(inputs)) if ctx.needs_input_grad[index]]
    result = [None] * arguments
    if used and wanted:
        found = torch.autograd.grad(
            [out for out, _ in used],
            [inputs[index] for index in wanted],
            [grad.to(out.dtype) for out, grad in used],
            create_graph=True,
            allow_unused=True,
        )
        for index, grad in zip(wanted, found, strict=True):
            result[index] = torch.zeros_like(inputs[index]) if grad is None else grad.to(inputs[index].dtype)
    return tuple(result)
