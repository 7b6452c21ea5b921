"""Pure-torch soft-DTW kernels that sweep anti-diagonals, for tensors on CUDA.

The same three recursions as `dilate_core._kernels` (forward with softmin weights, expected
alignment, Hessian-vector product), vectorised over the batch and over the cells of one
anti-diagonal i + j = k, whose cells depend only on the two diagonals before them. Grids are
padded the same way, (B, N + 2, M + 2), and kept flat, (B, (N + 2) * (M + 2)), so that a
cell's neighbours are fixed offsets of its flat index. Everything here is float64. A ragged
batch, pair b scored on its first (N_b, M_b) steps, runs on the whole grid with masks: R at
(N_b, M_b) is the trimmed pair's value already, and E and its tangent are kept 0 beyond it.
"""

from functools import lru_cache

import torch

INF = float("inf")  # the one sentinel for "no path reaches this cell"


@lru_cache(maxsize=64)
def _diagonals(N: int, M: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Flat indices of the cells (i, j), 1 <= i <= N, 1 <= j <= M, one tensor per i + j = k."""
    width = M + 2
    diagonals = []
    for k in range(2, N + M + 1):
        i = torch.arange(max(1, k - M), min(N, k - 1) + 1)
        diagonals.append((i * width + (k - i)).to(device))
    return tuple(diagonals)


def _padded(D: torch.Tensor, fill: float) -> torch.Tensor:
    """(B, N, M) -> flat (B, (N + 2) * (M + 2)) with D in cells 1..N, 1..M and `fill` around."""
    B, N, M = D.shape
    grid = D.new_full((B, N + 2, M + 2), fill)
    grid[:, 1 : N + 1, 1 : M + 1] = D
    return grid.view(B, -1)


def end_masks(rows: torch.Tensor, columns: torch.Tensor, N: int, M: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inside, end), flat (B, (N + 2) * (M + 2)) float64: 1 on the cells (i, j) with i <= rows[b] and
    j <= columns[b], and 1 on the end cell (rows[b], columns[b]) alone; rows, columns : (B,) integers."""
    i = torch.arange(N + 2, device=rows.device)[None, :, None]
    j = torch.arange(M + 2, device=rows.device)[None, None, :]
    rows, columns = rows[:, None, None], columns[:, None, None]
    inside = (i >= 1) & (j >= 1) & (i <= rows) & (j <= columns)
    end = (i == rows) & (j == columns)
    B = rows.shape[0]
    return inside.to(torch.float64).view(B, -1), end.to(torch.float64).view(B, -1)


def soft_dtw_forward(D: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-DTW recursion (Cuturi & Blondel 2017, Algorithm 1), one anti-diagonal at a time.

    D : (B, N, M) float64. Returns R, flat (B, (N + 2) * (M + 2)), and the softmin weights P,
    flat (B, 3, (N + 2) * (M + 2)), of the predecessors (i-1, j-1), (i-1, j), (i, j-1).
    """
    B, N, M = D.shape
    width = M + 2
    # Initialization.
    D_flat = _padded(D, 0.0)
    R = torch.full_like(D_flat, INF)
    R[:, 0] = 0.0
    P = D.new_zeros((B, 3, D_flat.shape[1]))
    # DP recursion.
    for cells in _diagonals(N, M, D.device):
        r = torch.stack((R[:, cells - width - 1], R[:, cells - width], R[:, cells - 1]), dim=1)  # (B, 3, L)
        rmin = r.amin(dim=1, keepdim=True)
        # Subtracting the minimum keeps every exponent <= 0: the stable softmin.
        weights = torch.exp(-(r - rmin) / gamma)
        total = weights.sum(dim=1, keepdim=True)
        R[:, cells] = D_flat[:, cells] + (rmin - gamma * torch.log(total)).squeeze(1)
        P[:, :, cells] = weights / total
    return R, P


def soft_dtw_backward(P: torch.Tensor, N: int, M: int, masks=None) -> torch.Tensor:
    """Expected alignment E = dR[N, M] / dD (Cuturi & Blondel 2017, Algorithm 2).

    P : flat (B, 3, (N + 2) * (M + 2)) weights; masks : None, or `end_masks` of a ragged batch
    (E = dR[N_b, M_b] / dD). Returns E, flat (B, (N + 2) * (M + 2)).
    """
    width = M + 2
    # Initialization.
    E = P.new_zeros((P.shape[0], P.shape[2]))
    if masks is None:
        E[:, N * width + M] = 1.0
    else:
        inside, end = masks
        E += end
    # DP recursion, in reverse; the last diagonal is the single cell (N, M), already set.
    for cells in reversed(_diagonals(N, M, P.device)[:-1]):
        diag, down, right = cells + width + 1, cells + width, cells + 1  # the three successors
        E[:, cells] = E[:, diag] * P[:, 0, diag] + E[:, down] * P[:, 1, down] + E[:, right] * P[:, 2, right]
        if masks is not None:  # 0 beyond the end cell; 1 on it (its successors lie beyond: 0)
            E[:, cells] = E[:, cells] * inside[:, cells] + end[:, cells]
    return E


def soft_dtw_hvp(Z: torch.Tensor, P: torch.Tensor, E: torch.Tensor, gamma: float, masks=None) -> torch.Tensor:
    """Hessian of soft-DTW times Z, the derivative of E along Z (Mensch & Blondel 2018, Alg. 3).

    Z : (B, N, M) float64 direction; P, E : flat, from the forward and backward passes; masks :
    as `soft_dtw_backward` was given them.
    Returns E_dot, flat (B, (N + 2) * (M + 2)).
    """
    B, N, M = Z.shape
    width = M + 2
    diagonals = _diagonals(N, M, Z.device)
    # Initialization.
    Z_flat = _padded(Z, 0.0)
    R_dot = torch.zeros_like(Z_flat)
    E_dot = torch.zeros_like(Z_flat)
    # DP recursion, forward mode: the tangent of R along Z.
    for cells in diagonals:
        R_dot[:, cells] = (
            Z_flat[:, cells]
            + P[:, 0, cells] * R_dot[:, cells - width - 1]
            + P[:, 1, cells] * R_dot[:, cells - width]
            + P[:, 2, cells] * R_dot[:, cells - 1]
        )
    # DP recursion, reverse mode over the tangent of E. A successor s passes E[s] * P[s, k];
    # its weight's tangent is -P[s, k] / gamma * (R_dot[cell] - (R_dot[s] - Z[s])).
    for cells in reversed(diagonals[:-1]):
        total = torch.zeros_like(R_dot[:, cells])
        for k, successor in enumerate((cells + width + 1, cells + width, cells + 1)):
            s_dot = R_dot[:, successor] - Z_flat[:, successor]
            change = E_dot[:, successor] - E[:, successor] * (R_dot[:, cells] - s_dot) / gamma
            total += P[:, k, successor] * change
        E_dot[:, cells] = total if masks is None else total * (masks[0][:, cells] - masks[1][:, cells])
    return E_dot
