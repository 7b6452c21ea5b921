"""numba kernels for the whole DILATE loss on the CPU: one forward and one backward sweep per call.

The forward sweep computes each cost D[i, j] = ||target_i - pred_j||^2 from the series as it
goes, soft-DTW's R (Cuturi & Blondel 2017, Alg. 1) and, beside it, the tangent of R along
Omega[i, j] = (i - j)^2: T[i, j] = Omega[i, j] + sum_k w_k T[predecessor_k], whose end value
T[N, M] = <E, Omega> is the temporal term before its 1 / (N M) (E the expected alignment). The
backward sweep runs E (Alg. 2) and the tangent of E along Omega (Mensch & Blondel 2018, Alg. 3)
together, from the stored softmin weights and tangents, and adds each cell's gradient
G = a E + c E_dot straight into the gradient of the series. No (B, N, M) array is formed but
the store of weights and tangents.

Layout: the batch is cut into chunks of LANES series, spread over the threads; a chunk sweeps
its grid once, each cell for all its series in one vectorised block, and its stored weights
and tangents are contiguous with the series innermost. The store has the caller's dtype:
float32 for float32 series, whose softmin then also runs in float32 (2x the SIMD width;
see the tests for the error against float64); the recursions for R, T, E and E_dot are float64.
"""

import numpy as np
from numba import njit, prange

from dilate_core._kernels import INF, KERNEL, softmin3, softmin3_single

LANES = 16  # series per chunk: two AVX-512 vectors of float64, for which LLVM emits its best loop
WEIGHTS = 3  # softmin weights stored per cell: diagonal, from above, from the left
STORED_PER_CELL = WEIGHTS + 1  # and the tangent T


@njit(inline="always", **KERNEL)
def _forward_cell(k, staged, result, gamma, inverse_gamma, omega, single):
    if single:
        value, w0, w1, w2 = softmin3_single(staged[0, k], staged[1, k], staged[2, k], gamma, inverse_gamma)
    else:
        value, w0, w1, w2 = softmin3(staged[0, k], staged[1, k], staged[2, k], gamma)
    result[0, k] = w0
    result[1, k] = w1
    result[2, k] = w2
    result[3, k] = staged[3, k] + value
    result[4, k] = omega + w0 * staged[4, k] + w1 * staged[5, k] + w2 * staged[6, k]


@njit(**KERNEL)
def _forward_block(staged, result, lanes, gamma, omega, single):
    """One cell for `lanes` series. staged rows: R diagonal, R up, R left, D, T diagonal, T up,
    T left; result rows: the three weights, R, T. A full block has a constant trip count."""
    inverse_gamma = 1.0 / gamma
    if lanes == LANES:
        for k in range(LANES):
            _forward_cell(k, staged, result, gamma, inverse_gamma, omega, single)
    else:
        for k in range(lanes):
            _forward_cell(k, staged, result, gamma, inverse_gamma, omega, single)


@njit(parallel=True, **KERNEL)
def dilate_forward(target, pred, gamma, store, stored, values, tangents):
    """Soft-DTW values and <E, Omega> of every series pair, storing what the backward reads.

    target : (B, N, d), pred : (B, M, d), float32 or float64.
    store : flat array of B * N * M * STORED_PER_CELL values, float32 or float64, written when
    `stored` is True: for the chunk of `lanes` series starting at series `first`, cell (i, j)
    (0-based) keeps its weight w < 3 at first * N * M * 4 + ((i * M + j) * 4 + w) * lanes + k
    and its tangent T at w = 3. values, tangents : (B,) float64 outputs, R[N, M] and T[N, M].
    Returns True when a cost is NaN or infinite (the results are then meaningless).
    """
    B, N, d = target.shape
    M = pred.shape[1]
    single = store.itemsize == 4  # a float32 store
    n_chunks = (B + LANES - 1) // LANES
    chunks_not_finite = 0
    for c in prange(n_chunks):
        first = c * LANES
        lanes = min(B, first + LANES) - first
        base = first * N * M * STORED_PER_CELL
        R_above = np.empty((M + 1, LANES))
        R_here = np.empty((M + 1, LANES))
        T_above = np.zeros((M + 1, LANES))
        T_here = np.zeros((M + 1, LANES))
        D_here = np.zeros((M, LANES))
        staged = np.zeros((7, LANES))
        result = np.empty((5, LANES))
        finite_check = 0.0
        R_above[:, :] = INF
        R_above[0, :] = 0.0
        for i in range(1, N + 1):
            for k in range(lanes):  # costs of row i, series innermost
                for j in range(M):
                    cost = 0.0
                    for f in range(d):
                        difference = np.float64(target[first + k, i - 1, f]) - np.float64(pred[first + k, j, f])
                        cost += difference * difference
                    D_here[j, k] = cost
                    finite_check += cost - cost
            R_here[0, :] = INF
            for j in range(1, M + 1):
                for k in range(LANES):
                    staged[0, k] = R_above[j - 1, k]
                    staged[1, k] = R_above[j, k]
                    staged[2, k] = R_here[j - 1, k]
                    staged[3, k] = D_here[j - 1, k]
                    staged[4, k] = T_above[j - 1, k]
                    staged[5, k] = T_above[j, k]
                    staged[6, k] = T_here[j - 1, k]
                _forward_block(staged, result, lanes, gamma, np.float64((i - j) * (i - j)), single)
                for k in range(LANES):
                    R_here[j, k] = result[3, k]
                    T_here[j, k] = result[4, k]
                if stored:
                    cell = base + ((i - 1) * M + (j - 1)) * STORED_PER_CELL * lanes
                    for w in range(STORED_PER_CELL):
                        row = w if w < WEIGHTS else 4
                        for k in range(lanes):
                            store[cell + w * lanes + k] = result[row, k]
            R_above, R_here = R_here, R_above
            T_above, T_here = T_here, T_above
        for k in range(lanes):
            values[first + k] = R_above[M, k]
            tangents[first + k] = T_above[M, k]
        chunks_not_finite += 0 if finite_check == 0.0 else 1
    return chunks_not_finite > 0


@njit(inline="always", **KERNEL)
def _backward_cell(k, here, below, j, p0, p1, p2, omegas, inverse_gamma, timed):
    """E and E_dot of cell (i, j) for series k, into here[j, 0:2, k]. Rows hold [E, E_dot, T]
    per column: `below` is row i + 1, `here` row i (already done right of j). p0, p1, p2: the
    weights that successors (i + 1, j + 1), (i + 1, j), (i, j + 1) give this cell (0 beyond the
    grid); omegas: their Omega. A successor s passes E[s] p and, along Omega,
    p (E_dot[s] - E[s] (T - T[s] + Omega[s]) / gamma)."""
    e = p0 * below[j + 1, 0, k] + p1 * below[j, 0, k] + p2 * here[j + 1, 0, k]
    e_dot = 0.0
    if timed:
        t = here[j, 2, k]
        e_dot = p0 * (below[j + 1, 1, k] - below[j + 1, 0, k] * (t - below[j + 1, 2, k] + omegas[0]) * inverse_gamma)
        e_dot += p1 * (below[j, 1, k] - below[j, 0, k] * (t - below[j, 2, k] + omegas[1]) * inverse_gamma)
        e_dot += p2 * (here[j + 1, 1, k] - here[j + 1, 0, k] * (t - here[j + 1, 2, k] + omegas[2]) * inverse_gamma)
    here[j, 0, k] = e
    here[j, 1, k] = e_dot


@njit(**KERNEL)
def _backward_block(here, below, j, weights, omegas, lanes, inverse_gamma, timed):
    """`_backward_cell` for `lanes` series; weights : (3, LANES), the successors' p0, p1, p2."""
    if lanes == LANES:
        for k in range(LANES):
            _backward_cell(k, here, below, j, weights[0, k], weights[1, k], weights[2, k], omegas, inverse_gamma, timed)
    else:
        for k in range(lanes):
            _backward_cell(k, here, below, j, weights[0, k], weights[1, k], weights[2, k], omegas, inverse_gamma, timed)


@njit(parallel=True, **KERNEL)
def dilate_backward(target, pred, gamma, store, shape_scale, time_scale, grad_target, grad_pred):
    """Gradient of sum_b shape_scale[b] R_b[N, M] + time_scale[b] T_b[N, M] with respect to the series.

    G[i, j] = shape_scale E[i, j] + time_scale E_dot[i, j] is the gradient with respect to D[i, j];
    with D[i, j] = ||target_i - pred_j||^2 it adds 2 G (pred_j - target_i) to grad_pred[j] and the
    opposite to grad_target[i]. store : written by `dilate_forward` for the same series.
    grad_target : (B, N, d) or, when not wanted, (0, 0, 0); grad_pred : (B, M, d); both float64,
    overwritten. E_dot is skipped in a chunk whose time_scale is 0.
    """
    B, N, d = target.shape
    M = pred.shape[1]
    want_target = grad_target.shape[0] == B
    inverse_gamma = 1.0 / gamma
    n_chunks = (B + LANES - 1) // LANES
    for c in prange(n_chunks):
        first = c * LANES
        lanes = min(B, first + LANES) - first
        base = first * N * M * STORED_PER_CELL
        stride = STORED_PER_CELL * lanes  # values stored per cell
        # Rows i + 1 and i of [E, E_dot, T], columns 1..M + 1 (column M + 1 stays zero).
        below = np.zeros((M + 2, 3, LANES))
        here = np.zeros((M + 2, 3, LANES))
        # The chunk's series with the series innermost, float64.
        pred_t = np.zeros((M, d, LANES))
        target_t = np.zeros((N, d, LANES))
        for k in range(lanes):
            for j in range(M):
                for f in range(d):
                    pred_t[j, f, k] = pred[first + k, j, f]
            for i in range(N):
                for f in range(d):
                    target_t[i, f, k] = target[first + k, i, f]
        gp = np.zeros((M, d, LANES))
        gt = np.zeros((d, LANES))
        a = np.zeros(LANES)
        t = np.zeros(LANES)
        timed = False
        for k in range(lanes):
            a[k] = 2.0 * shape_scale[first + k]
            t[k] = 2.0 * time_scale[first + k]
            timed = timed or t[k] != 0.0
        weights = np.zeros((3, LANES))
        omegas = np.empty(3)
        for i in range(N, 0, -1):
            gt[:, :] = 0.0
            row = base + (i - 1) * M * stride  # cell (i, 1), 1-based
            for j in range(1, M + 1):
                for k in range(lanes):
                    here[j, 2, k] = store[row + (j - 1) * stride + 3 * lanes + k]
            for j in range(M, 0, -1):
                cell = row + (j - 1) * stride
                if i == N and j == M:  # the end cell: E = 1, no tangent
                    for k in range(LANES):
                        here[j, 0, k] = 1.0
                        here[j, 1, k] = 0.0
                else:
                    has_below, has_right = i < N, j < M
                    below_cell = cell + M * stride if has_below else cell  # (i + 1, j), or a stand-in read times 0
                    right_cell = cell + stride if has_right else cell
                    diag_cell = below_cell + stride if has_below and has_right else cell
                    on_diag = 1.0 if has_below and has_right else 0.0
                    on_below = 1.0 if has_below else 0.0
                    on_right = 1.0 if has_right else 0.0
                    for k in range(lanes):
                        weights[0, k] = on_diag * store[diag_cell + k]
                        weights[1, k] = on_below * store[below_cell + lanes + k]
                        weights[2, k] = on_right * store[right_cell + 2 * lanes + k]
                    omegas[0] = np.float64((i - j) * (i - j))
                    omegas[1] = np.float64((i + 1 - j) * (i + 1 - j))
                    omegas[2] = np.float64((i - j - 1) * (i - j - 1))
                    _backward_block(here, below, j, weights, omegas, lanes, inverse_gamma, timed)
                for f in range(d):
                    for k in range(LANES):
                        G = a[k] * here[j, 0, k] + t[k] * here[j, 1, k]
                        difference = pred_t[j - 1, f, k] - target_t[i - 1, f, k]
                        gp[j - 1, f, k] += G * difference
                        gt[f, k] -= G * difference
            if want_target:
                for k in range(lanes):
                    for f in range(d):
                        grad_target[first + k, i - 1, f] = gt[f, k]
            below, here = here, below
        for k in range(lanes):
            for j in range(M):
                for f in range(d):
                    grad_pred[first + k, j, f] = gp[j, f, k]
