"""numba kernels for soft-DTW, its expected alignment, its Hessian-vector product and exact DTW.

Every kernel works on a batch in float64 and is parallel over the batch. Grids are padded:
a cost matrix D of shape (B, N, M) lives in arrays of shape (B, N + 2, M + 2) whose cell
(i, j) is the paper's 1-based cell, row and column 0 hold the boundary and row N + 1 and
column M + 1 are zero so the backward sweeps need no bounds checks.
"""

import numpy as np
from numba import njit, prange

INF = np.inf  # the one sentinel for "no path reaches this cell"
# exp(-40) < 2^-57: a softmin term this small cannot change a sum that holds exp(0) = 1, so it
# is not computed (its weight is stored as 0); this keeps values bit-identical and saves the
# exp calls that dominate the recursion at small gamma.
NEGLIGIBLE_EXPONENT = 40.0


@njit(cache=True, inline="always")
def softmin3(a, b, c, gamma):
    """Stable soft minimum -gamma log(e^{-a/gamma} + e^{-b/gamma} + e^{-c/gamma}).

    Returns the value and the three softmax weights, which sum to one.
    """
    rmin = min(a, min(b, c))
    # Subtracting the minimum keeps every exponent <= 0: no overflow for tiny gamma.
    xa, xb, xc = (a - rmin) / gamma, (b - rmin) / gamma, (c - rmin) / gamma
    wa = np.exp(-xa) if xa < NEGLIGIBLE_EXPONENT else 0.0
    wb = np.exp(-xb) if xb < NEGLIGIBLE_EXPONENT else 0.0
    wc = np.exp(-xc) if xc < NEGLIGIBLE_EXPONENT else 0.0
    total = wa + wb + wc  # in [1, 3]: the minimum contributes exp(0) = 1
    if total == 1.0:  # one clear minimum: log(1) = 0, weights are one-hot
        return rmin, wa, wb, wc
    inverse = 1.0 / total
    return rmin - gamma * np.log(total), wa * inverse, wb * inverse, wc * inverse


@njit(cache=True, parallel=True)
def soft_dtw_forward(D, gamma, R, P):
    """Soft-DTW recursion (Cuturi & Blondel 2017, Algorithm 1), storing the softmin weights.

    D : (B, N, M) costs. R : (B, N + 2, M + 2) output, R[:, N, M] is soft-DTW.
    P : (B, N + 2, M + 2, 3) output, the weights of the predecessors (i-1, j-1), (i-1, j),
    (i, j-1) of each cell, so that the backward passes need no exp or log.
    """
    B, N, M = D.shape
    for b in prange(B):
        # Initialization: the boundary row and column, and zero weights beyond the grid.
        R[b, 0, :] = INF
        R[b, :, 0] = INF
        R[b, 0, 0] = 0.0
        P[b, N + 1, :, :] = 0.0
        P[b, :, M + 1, :] = 0.0
        # DP recursion.
        for i in range(1, N + 1):
            for j in range(1, M + 1):
                value, w0, w1, w2 = softmin3(R[b, i - 1, j - 1], R[b, i - 1, j], R[b, i, j - 1], gamma)
                R[b, i, j] = D[b, i - 1, j - 1] + value  # D is 0-based: cell (i, j) is D[i-1, j-1]
                P[b, i, j, 0] = w0
                P[b, i, j, 1] = w1
                P[b, i, j, 2] = w2


@njit(cache=True, parallel=True)
def soft_dtw_backward(P, E):
    """Expected alignment E = dR[N, M] / dD (Cuturi & Blondel 2017, Algorithm 2).

    P : (B, N + 2, M + 2, 3) weights from `soft_dtw_forward`. E : (B, N + 2, M + 2) output;
    E[:, 1:N+1, 1:M+1] is the alignment, row and column N + 1, M + 1 are zero, row and
    column 0 are left unwritten.
    """
    B = P.shape[0]
    N = P.shape[1] - 2
    M = P.shape[2] - 2
    for b in prange(B):
        # Initialization: zero beyond the grid, 1 at the end cell.
        E[b, N + 1, :] = 0.0
        E[b, :, M + 1] = 0.0
        E[b, N, M] = 1.0
        # DP recursion, in reverse: each cell collects from its three successors, whose weight
        # for it is P[successor, k] with k = 0 diagonal, 1 from above, 2 from the left.
        for i in range(N, 0, -1):
            for j in range(M, 0, -1):
                if i == N and j == M:
                    continue
                E[b, i, j] = (
                    E[b, i + 1, j + 1] * P[b, i + 1, j + 1, 0]
                    + E[b, i + 1, j] * P[b, i + 1, j, 1]
                    + E[b, i, j + 1] * P[b, i, j + 1, 2]
                )


@njit(cache=True, parallel=True)
def soft_dtw_hvp(Z, P, E, gamma, R_dot, E_dot):
    """Hessian of soft-DTW times Z, i.e. the derivative of E along Z (Mensch & Blondel 2018, Alg. 3).

    Z : (B, N, M) direction. P, E : from the forward and backward passes.
    R_dot : (B, N + 2, M + 2) work array, the forward-mode tangent of R.
    E_dot : (B, N + 2, M + 2) output; E_dot[:, 1:N+1, 1:M+1] = H Z, the rest unwritten.
    """
    B, N, M = Z.shape
    for b in prange(B):
        # Initialization: no tangent on the boundary, none flowing back from the end cell.
        R_dot[b, 0, :] = 0.0
        R_dot[b, :, 0] = 0.0
        E_dot[b, N, M] = 0.0
        # DP recursion, forward mode: the tangent of R[i, j] = D[i, j] + softmin(...) along Z.
        for i in range(1, N + 1):
            for j in range(1, M + 1):
                R_dot[b, i, j] = (
                    Z[b, i - 1, j - 1]
                    + P[b, i, j, 0] * R_dot[b, i - 1, j - 1]
                    + P[b, i, j, 1] * R_dot[b, i - 1, j]
                    + P[b, i, j, 2] * R_dot[b, i, j - 1]
                )
        # DP recursion, reverse mode over the tangent of E. A successor s = (i', j') of (i, j)
        # passes E[s] * P[s, k]; the tangent of its weight is
        # -P[s, k] / gamma * (R_dot[i, j] - softmin_dot[s]), with softmin_dot[s] = R_dot[s] - Z[s].
        for i in range(N, 0, -1):
            for j in range(M, 0, -1):
                if i == N and j == M:
                    continue
                total = 0.0
                # Successors lie one row and/or column further; Z is 0-based, hence the -1s.
                if i < N and j < M:
                    s_dot = R_dot[b, i + 1, j + 1] - Z[b, i, j]
                    p = P[b, i + 1, j + 1, 0]
                    total += p * (E_dot[b, i + 1, j + 1] - E[b, i + 1, j + 1] * (R_dot[b, i, j] - s_dot) / gamma)
                if i < N:
                    s_dot = R_dot[b, i + 1, j] - Z[b, i, j - 1]
                    p = P[b, i + 1, j, 1]
                    total += p * (E_dot[b, i + 1, j] - E[b, i + 1, j] * (R_dot[b, i, j] - s_dot) / gamma)
                if j < M:
                    s_dot = R_dot[b, i, j + 1] - Z[b, i - 1, j]
                    p = P[b, i, j + 1, 2]
                    total += p * (E_dot[b, i, j + 1] - E[b, i, j + 1] * (R_dot[b, i, j] - s_dot) / gamma)
                E_dot[b, i, j] = total


@njit(cache=True, parallel=True)
def dtw_paths(D, C, paths, path_lengths):
    """Exact DTW (Sakoe & Chiba 1978) with its optimal path, as tslearn's `dtw_path` chooses it.

    D : (B, N, M) costs. C : (B, N + 1, M + 1) work array, the accumulated cost.
    paths : (B, N + M - 1, 2) int output, the path's (i, j) from (0, 0) to (N-1, M-1);
    path_lengths : (B,) int output. Returns nothing; C[:, N, M] is the DTW cost.
    Ties go first to the diagonal, then to (i-1, j), then to (i, j-1), as in tslearn.
    """
    B, N, M = D.shape
    for b in prange(B):
        # Initialization: the boundary row and column.
        C[b, 0, :] = INF
        C[b, :, 0] = INF
        C[b, 0, 0] = 0.0
        # DP recursion.
        for i in range(1, N + 1):
            for j in range(1, M + 1):
                C[b, i, j] = D[b, i - 1, j - 1] + min(C[b, i - 1, j - 1], min(C[b, i - 1, j], C[b, i, j - 1]))
        # Backtracking, from (N, M) to (1, 1) in the padded grid, written back to front.
        i, j = N, M
        steps = 0
        while True:
            paths[b, steps, 0] = i - 1  # the padded grid is 1-based
            paths[b, steps, 1] = j - 1
            steps += 1
            if i == 1 and j == 1:
                break
            if i == 1:
                j -= 1
            elif j == 1:
                i -= 1
            else:
                diag, up, left = C[b, i - 1, j - 1], C[b, i - 1, j], C[b, i, j - 1]
                if diag <= up and diag <= left:
                    i -= 1
                    j -= 1
                elif up <= left:
                    i -= 1
                else:
                    j -= 1
        path_lengths[b] = steps
        # Reverse in place so the path starts at (0, 0).
        for k in range(steps // 2):
            for c in range(2):
                tmp = paths[b, k, c]
                paths[b, k, c] = paths[b, steps - 1 - k, c]
                paths[b, steps - 1 - k, c] = tmp
