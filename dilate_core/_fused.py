"""numba kernels for the whole DILATE loss on the CPU: one forward and one backward sweep per call.

The forward sweep computes each cost D[i, j] = ||target_i - pred_j||^2 from the series as it
goes, soft-DTW's R (Cuturi & Blondel 2017, Alg. 1) and, beside it, the tangent of R along
Omega[i, j] = (i - j)^2: T[i, j] = Omega[i, j] + sum_k w_k T[predecessor_k], whose end value
T[N, M] = <E, Omega> is the temporal term before its 1 / (N M) (E the expected alignment). The
backward sweep runs E (Alg. 2) and the tangent of E along Omega (Mensch & Blondel 2018, Alg. 3)
together, from the stored softmin weights and tangents, and adds each cell's gradient
G = a E + c E_dot straight into the gradient of the series. No (B, N, M) array is formed but
the store of weights and tangents.

Ragged batches: given per-pair ends (N_b, M_b), the forward reads pair b's R and T at cell
(N_b, M_b), whose values depend only on the cells before it, i.e. on the trimmed series; the
backward starts E at 1 in that cell and keeps E and E_dot at 0 beyond it, so the padding's
cells add nothing to any gradient. Same sweeps, same layout: a masked grid, not a loop.

Layout: each thread takes a contiguous share of the batch, cut into chunks of WIDE series
(fewer for its last few, see `_chunk_of`); the widths are compile-time literals, so each gets
its own loops. The forward sweeps a chunk's grid in strips of STRIP rows along the strip's
anti-diagonals, so that each step computes STRIP independent cells for all the chunk's series
in one vectorised block (a row at a time, each cell waits on the one before it). The backward
goes row by row, each cell for all the series at once. Stored weights and tangents are
contiguous per cell with the series innermost. What makes the loops vectorise is written where
it is done: loop bodies written out rather than inlined, and unsigned offsets. The store has
the caller's dtype: float32 for float32 series, whose softmin then also runs in float32 (2x the
SIMD width; see the tests for the error against float64); the recursions for R, T, E and E_dot
are float64.
"""

import numpy as np
from numba import njit, prange

from dilate_core._kernels import INF, KERNEL, softmin3, softmin3_single

# Series per chunk: WIDE, two AVX-512 vectors of float64, for which LLVM emits its best loop;
# a worker's last few series go in chunks of NARROW, each of which costs about 0.4 of a wide
# one at N = M = 20. Each width is compiled on its own (more widths, longer first compile).
WIDE, NARROW = 16, 4
WEIGHTS = 3  # softmin weights stored per cell: diagonal, from above, from the left
STORED_PER_CELL = WEIGHTS + 1  # and the tangent T
STRIP = 4  # rows swept together by the forward, one cell each per step: independent work per step


@njit(**KERNEL)
def _forward_block(states, latest, before, new, cost, omega_base, gamma, single, weights, width):
    """One step of a strip: cell (top + q, j - q) for its STRIP rows q and `width` series at once.

    states : (3, 2, (STRIP + 1) * width); states[latest] and states[before] hold [R, T] of the
    cells done one and two steps ago: block 0 is the row above the strip, block q + 1 the strip's
    row q, so that row q reads its diagonal, upper and left predecessors in blocks q (before),
    q (latest) and q + 1 (latest). The cells' R and T go to blocks 1..STRIP of states[new].
    cost : (STRIP * width,) D of the cells. Omega of row q is (omega_base + 2 q)^2.
    weights : (3, STRIP * width). Rows outside the grid (a strip's skewed ends, unused lanes)
    are computed too and ignored by the caller. A constant trip count (`width` is a compile-time
    literal), and the branch on `single` written inside the loop, are what let LLVM vectorise it
    (helpers inlined into it keep it scalar).
    """
    inverse_gamma = 1.0 / gamma
    for k in range(STRIP * width):
        diagonal, up, left = states[before, 0, k], states[latest, 0, k], states[latest, 0, width + k]
        if single:
            value, w0, w1, w2 = softmin3_single(diagonal, up, left, gamma, inverse_gamma)
        else:
            value, w0, w1, w2 = softmin3(diagonal, up, left, gamma)
        distance = np.float64(omega_base + 2 * (k // width))
        states[new, 0, width + k] = cost[k] + value
        states[new, 1, width + k] = (
            distance * distance
            + w0 * states[before, 1, k]
            + w1 * states[latest, 1, k]
            + w2 * states[latest, 1, width + k]
        )
        weights[0, k] = w0
        weights[1, k] = w1
        weights[2, k] = w2


@njit(inline="always", **KERNEL)
def _stored_at(first, N, M, lanes, i, j):
    """Offset in the store of cell (i, j), 1-based, of the chunk of `lanes` series from series
    `first`: the cell's STORED_PER_CELL blocks of `lanes` values start there."""
    return (first * N * M + ((i - 1) * M + (j - 1)) * lanes) * STORED_PER_CELL


@njit(inline="always", **KERNEL)
def _worker_series(B, workers, worker):
    """The series [start, stop) of one of `workers` workers: contiguous, as equal as can be."""
    return worker * B // workers, (worker + 1) * B // workers


@njit(inline="always", **KERNEL)
def _chunk_of(remaining):
    """(series, width) of a worker's next chunk when `remaining` series are left: WIDE while
    more than 2 NARROW remain (two narrow chunks cost about three quarters of a wide one), then NARROW."""
    if remaining > 2 * NARROW:
        return min(WIDE, remaining), WIDE
    return min(NARROW, remaining), NARROW


@njit(**KERNEL)
def _series_of_chunk(x, first, lanes, out, reverse):
    """x[first:first + lanes] (lanes, L, d) into out (d, L + 2 STRIP, width), float64, series
    innermost, time steps from STRIP on (in reverse order when `reverse`); the rest is zero."""
    out[:, :, :] = 0.0
    L = x.shape[1]
    for k in range(lanes):
        for t in range(L):
            for f in range(x.shape[2]):
                out[f, STRIP + (L - 1 - t if reverse else t), k] = x[first + k, t, f]


@njit(**KERNEL)
def _forward_chunk(args, width):
    """`dilate_forward` for the `lanes` <= `width` series from `first`, `width` at once; args :
    (target, pred, gamma, first, lanes, store, stored, timed, target_ends, pred_ends, values,
    tangents), as a tuple (its star would cost `width` its literal type). True when a cost is
    NaN or infinite."""
    target, pred, gamma, first, lanes, store, stored, timed, target_ends, pred_ends, values, tangents = args
    N, d = target.shape[1], target.shape[2]
    M = pred.shape[1]
    # Ragged: lane k ends at row lane_rows[k], column lane_columns[k]; ending[i]: a lane ends in row i.
    ragged = target_ends.shape[0] > 0
    lane_rows, lane_columns = _lane_ends(target_ends, pred_ends, first, lanes, width, N, M)
    ending = np.zeros(N + 1, np.bool_)
    for k in range(lanes):
        ending[lane_rows[k]] = True
    cells = STRIP * width
    single = store.itemsize == 4  # a float32 store
    # The series, flat per feature: row q of a strip reads target at (top + q - 1) + STRIP
    # and, at step s, pred reversed at (M - 1 - s + q) + STRIP: both contiguous over q.
    target_t = np.empty((d, N + 2 * STRIP, width))
    pred_reversed = np.empty((d, M + 2 * STRIP, width))
    _series_of_chunk(target, first, lanes, target_t, False)
    _series_of_chunk(pred, first, lanes, pred_reversed, True)
    target_flat = target_t.reshape((d, -1))
    pred_flat = pred_reversed.reshape((d, -1))
    # [R, T] of the row above the strip and of the strip's last row, columns 0..M + 1.
    above = np.zeros((2, M + 2, width))
    below = np.zeros((2, M + 2, width))
    states = np.zeros((3, 2, (STRIP + 1) * width))  # latest, before, new: roles rotated each step
    cost = np.empty(cells)
    weights = np.empty((3, cells))
    # The cells outside the grid cost 0: the series are padded with zeros.
    finite_check = np.zeros(cells)
    above[0, :, :] = INF
    above[0, 0, :] = 0.0
    for top in range(1, N + 1, STRIP):  # the strip's rows: top .. top + rows - 1
        rows = min(STRIP, N - top + 1)
        latest, before, new = 0, 1, 2  # indices, not views: no reference counting per step
        states[latest, 0, :] = INF  # column 0 of every row, before the row starts
        states[latest, 1, :] = 0.0
        for k in range(width):  # row 0 first reads column 0 (diagonal) and column 1 (up)
            states[before, 0, k] = above[0, 0, k]
            states[latest, 0, k] = above[0, 1, k]
            states[latest, 1, k] = above[1, 1, k]
        below[0, 0, :] = INF
        t0 = (top - 1 + STRIP) * width
        for step in range(M + rows - 1):
            p0 = (M - 1 - step + STRIP) * width
            cost[:] = 0.0
            for f in range(d):
                target_cells, pred_cells = target_flat[f, t0 : t0 + cells], pred_flat[f, p0 : p0 + cells]
                for k in range(cells):
                    difference = target_cells[k] - pred_cells[k]
                    cost[k] += difference * difference
            for k in range(cells):  # per lane, not a sum, so that it vectorises
                finite_check[k] += cost[k] - cost[k]  # NaN from the first cost that is not finite
            _forward_block(states, latest, before, new, cost, top - step - 1, gamma, single, weights, width)
            for q in range(STRIP):
                j = step - q + 1
                if j < 1:  # row q has not started: it stays at its column 0
                    for k in range(width):
                        states[new, 0, (q + 1) * width + k] = INF
                        states[new, 1, (q + 1) * width + k] = 0.0
                    continue
                if q >= rows or j > M:
                    continue
                o = q * width
                if ragged and ending[top + q]:
                    for k in range(lanes):
                        if lane_rows[k] == top + q and lane_columns[k] == j:
                            values[first + k] = states[new, 0, o + width + k]
                            tangents[first + k] = states[new, 1, o + width + k]
                if q == rows - 1:
                    for k in range(width):
                        below[0, j, k] = states[new, 0, o + width + k]
                        below[1, j, k] = states[new, 1, o + width + k]
                if stored:
                    cell = _stored_at(first, N, M, lanes, top + q, j)
                    for w in range(STORED_PER_CELL if timed else WEIGHTS):
                        out = np.uint64(cell + w * lanes)
                        source = weights[w] if w < WEIGHTS else states[new, 1, width:]
                        for k in range(lanes):
                            store[out + np.uint64(k)] = source[np.uint64(o + k)]
            column = min(step + 2, M + 1)  # what row 0 reads as up at the next step
            for k in range(width):
                states[new, 0, k] = above[0, column, k]
                states[new, 1, k] = above[1, column, k]
            latest, before, new = new, latest, before
        above, below = below, above
    if not ragged:
        for k in range(lanes):
            values[first + k] = above[0, M, k]
            tangents[first + k] = above[1, M, k]
    return not np.all(finite_check == 0.0)


@njit(**KERNEL)
def _lane_ends(target_ends, pred_ends, first, lanes, width, N, M):
    """The end cell (row, column) of each of a chunk's `width` lanes: the pair's ends, or (N, M)
    when `target_ends` is empty (every pair whole) and for unused lanes."""
    rows = np.full(width, N, np.int64)
    columns = np.full(width, M, np.int64)
    if target_ends.shape[0] > 0:
        for k in range(lanes):
            rows[k] = target_ends[first + k]
            columns[k] = pred_ends[first + k]
    return rows, columns


@njit(parallel=True, **KERNEL)
def dilate_forward(target, pred, gamma, store, stored, timed, target_ends, pred_ends, values, tangents, workers):
    """Soft-DTW values and <E, Omega> of every series pair, storing what the backward reads.

    target : (B, N, d), pred : (B, M, d), float32 or float64.
    target_ends, pred_ends : (B,) int64, 1 <= N_b <= N and 1 <= M_b <= M: pair b is scored on
    its first N_b and M_b steps (the rest must be finite, e.g. zeros); or both empty: whole.
    store : flat array of B * N * M * STORED_PER_CELL values, float32 or float64, written when
    `stored` is True: series k of a chunk keeps the weight w < 3 of a cell at
    `_stored_at(...) + w * lanes + k` and its tangent T at w = 3 (left unwritten unless
    `timed`: a backward without the temporal term reads no T).
    values, tangents : (B,) float64 outputs, R[N, M] and T[N, M] (at (N_b, M_b) when ragged).
    workers : the number of parallel workers (numba's threads), each with its own contiguous
    series cut into chunks by `_chunk_of`; `dilate_backward` must be given the same number.
    Returns True when a cost is NaN or infinite (the results are then meaningless).

    The grid is swept in strips of STRIP rows; at step s, row q of the strip does column
    j = s - q + 1, so that the strip's cells of a step are independent and run in one block.
    """
    B = target.shape[0]
    workers_not_finite = 0
    for worker in prange(workers):
        first, stop = _worker_series(B, workers, worker)
        not_finite = _forward_series(
            target, pred, gamma, first, stop, store, stored, timed, target_ends, pred_ends, values, tangents
        )
        workers_not_finite += 1 if not_finite else 0
    return workers_not_finite > 0


@njit(**KERNEL)
def _forward_series(target, pred, gamma, first, stop, store, stored, timed, target_ends, pred_ends, values, tangents):
    """`_forward_chunk` over the series [first, stop) in the chunks `_chunk_of` cuts (outside
    the parallel loop, where the widths stay compile-time literals). True when a cost is not finite."""
    not_finite = False
    while first < stop:
        lanes, width = _chunk_of(stop - first)
        args = (target, pred, gamma, first, lanes, store, stored, timed, target_ends, pred_ends, values, tangents)
        # Each width is written in its own call: passed as a variable, it would not stay a literal.
        if width == WIDE:
            not_finite |= _forward_chunk(args, WIDE)
        else:
            not_finite |= _forward_chunk(args, NARROW)
        first += lanes
    return not_finite


@njit(**KERNEL)
def _backward_row(
    store,
    first,
    i,
    N,
    M,
    lanes,
    here,
    below,
    inverse_gamma,
    timed,
    scales,
    pred_t,
    target_t,
    gp,
    gt,
    ragged,
    lane_rows,
    lane_columns,
    width,
):
    """Row i of E and E_dot, right to left, for a chunk's series, and the gradient of its cells.

    store : as `dilate_forward` wrote it, for the chunk from series `first`. below : row
    i + 1 and here : row i, as [E, E_dot] per column (M + 2, 2, width). A successor s of cell
    (i, j) gives it the weight p, passing E[s] p and, along Omega,
    p (E_dot[s] - E[s] (T - T[s] + Omega[s]) / gamma). A successor beyond the grid is read at a
    stand-in offset and weighted 0. Each cell adds G (pred_j - target_i), G = scales[0] E +
    scales[1] E_dot, to gp[j - 1] (M, d, width) and its opposite to gt (d, width); pred_t and
    target_t : the series as `_series_of_chunk` lays them out. When `ragged`, lane k ends at cell
    (lane_rows[k], lane_columns[k]): E is 1 there and 0, with E_dot, beyond.
    Offsets are cast to np.uint64: numba then skips the negative-index wraparound, whose
    per-element select would keep LLVM from vectorising the loops over the series.
    """
    tangent = WEIGHTS * lanes  # offset of T within a cell
    has_below = i < N
    for j in range(M, 0, -1):
        if i == N and j == M and not ragged:  # the end cell: E = 1, no tangent
            here[j, 0, :] = 1.0
            here[j, 1, :] = 0.0
        else:
            has_right = j < M
            cell = _stored_at(first, N, M, lanes, i, j)
            down = _stored_at(first, N, M, lanes, i + 1, j) if has_below else cell
            right = _stored_at(first, N, M, lanes, i, j + 1) if has_right else cell
            diagonal = _stored_at(first, N, M, lanes, i + 1, j + 1) if has_below and has_right else cell
            on_diagonal = 1.0 if has_below and has_right else 0.0
            on_down = 1.0 if has_below else 0.0
            on_right = 1.0 if has_right else 0.0
            omega_diagonal = np.float64((i - j) * (i - j))
            omega_down = np.float64((i + 1 - j) * (i + 1 - j))
            omega_right = np.float64((i - j - 1) * (i - j - 1))
            at_cell, at_diagonal = np.uint64(cell + tangent), np.uint64(diagonal)
            at_down, at_right = np.uint64(down + lanes), np.uint64(right + 2 * lanes)
            t_diagonal, t_down, t_right = (
                np.uint64(diagonal + tangent),
                np.uint64(down + tangent),
                np.uint64(right + tangent),
            )
            for k in range(lanes):
                u = np.uint64(k)
                p0 = on_diagonal * store[at_diagonal + u]
                p1 = on_down * store[at_down + u]
                p2 = on_right * store[at_right + u]
                e = p0 * below[j + 1, 0, k] + p1 * below[j, 0, k] + p2 * here[j + 1, 0, k]
                e_dot = 0.0
                if timed:
                    t = np.float64(store[at_cell + u])
                    e_dot = p0 * (
                        below[j + 1, 1, k]
                        - below[j + 1, 0, k] * (t - store[t_diagonal + u] + omega_diagonal) * inverse_gamma
                    )
                    e_dot += p1 * (
                        below[j, 1, k] - below[j, 0, k] * (t - store[t_down + u] + omega_down) * inverse_gamma
                    )
                    e_dot += p2 * (
                        here[j + 1, 1, k] - here[j + 1, 0, k] * (t - store[t_right + u] + omega_right) * inverse_gamma
                    )
                if ragged:
                    inside = i <= lane_rows[k] and j <= lane_columns[k]
                    at_end = i == lane_rows[k] and j == lane_columns[k]
                    e = 1.0 if at_end else (e if inside else 0.0)
                    e_dot = e_dot if inside and not at_end else 0.0
                here[j, 0, k] = e
                here[j, 1, k] = e_dot
        for f in range(pred_t.shape[0]):
            for k in range(width):
                G = scales[0, k] * here[j, 0, k] + scales[1, k] * here[j, 1, k]
                difference = pred_t[f, STRIP + j - 1, k] - target_t[f, STRIP + i - 1, k]
                gp[j - 1, f, k] += G * difference
                gt[f, k] -= G * difference


@njit(**KERNEL)
def _backward_chunk(args, width):
    """`dilate_backward` for the `lanes` <= `width` series from `first`, `width` at once; args :
    (target, pred, gamma, store, first, lanes, target_ends, pred_ends, shape_scale, time_scale,
    grad_target, grad_pred)."""
    (
        target,
        pred,
        gamma,
        store,
        first,
        lanes,
        target_ends,
        pred_ends,
        shape_scale,
        time_scale,
        grad_target,
        grad_pred,
    ) = args
    B, N, d = target.shape
    M = pred.shape[1]
    want_target = grad_target.shape[0] == B
    inverse_gamma = 1.0 / gamma
    # Rows i + 1 and i of [E, E_dot], columns 1..M + 1 (column M + 1 stays zero).
    below = np.zeros((M + 2, 2, width))
    here = np.zeros((M + 2, 2, width))
    target_t = np.empty((d, N + 2 * STRIP, width))
    pred_t = np.empty((d, M + 2 * STRIP, width))
    _series_of_chunk(target, first, lanes, target_t, False)
    _series_of_chunk(pred, first, lanes, pred_t, False)
    gp = np.zeros((M, d, width))
    gt = np.zeros((d, width))
    scales = np.zeros((2, width))  # 2 shape_scale and 2 time_scale, per series
    timed = False
    for k in range(lanes):
        scales[0, k] = 2.0 * shape_scale[first + k]
        scales[1, k] = 2.0 * time_scale[first + k]
        timed = timed or scales[1, k] != 0.0
    ragged = target_ends.shape[0] > 0
    lane_rows, lane_columns = _lane_ends(target_ends, pred_ends, first, lanes, width, N, M)
    for i in range(N, 0, -1):
        gt[:, :] = 0.0
        _backward_row(
            store,
            first,
            i,
            N,
            M,
            lanes,
            here,
            below,
            inverse_gamma,
            timed,
            scales,
            pred_t,
            target_t,
            gp,
            gt,
            ragged,
            lane_rows,
            lane_columns,
            width,
        )
        if want_target:
            for k in range(lanes):
                for f in range(d):
                    grad_target[first + k, i - 1, f] = gt[f, k]
        below, here = here, below
    for k in range(lanes):
        for j in range(M):
            for f in range(d):
                grad_pred[first + k, j, f] = gp[j, f, k]


@njit(parallel=True, **KERNEL)
def dilate_backward(
    target, pred, gamma, store, target_ends, pred_ends, shape_scale, time_scale, grad_target, grad_pred, workers
):
    """Gradient of sum_b shape_scale[b] R_b[N, M] + time_scale[b] T_b[N, M] with respect to the series.

    G[i, j] = shape_scale E[i, j] + time_scale E_dot[i, j] is the gradient with respect to D[i, j];
    with D[i, j] = ||target_i - pred_j||^2 it adds 2 G (pred_j - target_i) to grad_pred[j] and the
    opposite to grad_target[i]. store : written by `dilate_forward` for the same series and ends
    with the same `workers`. grad_target : (B, N, d) or, when not wanted, (0, 0, 0); grad_pred : (B, M, d);
    both float64, overwritten. E_dot is skipped in a chunk whose time_scale is 0.
    """
    B = target.shape[0]
    for worker in prange(workers):
        first, stop = _worker_series(B, workers, worker)
        _backward_series(
            target,
            pred,
            gamma,
            store,
            first,
            stop,
            target_ends,
            pred_ends,
            shape_scale,
            time_scale,
            grad_target,
            grad_pred,
        )


@njit(**KERNEL)
def _backward_series(
    target, pred, gamma, store, first, stop, target_ends, pred_ends, shape_scale, time_scale, grad_target, grad_pred
):
    """`_backward_chunk` over the series [first, stop), in the chunks `_forward_series` used."""
    while first < stop:
        lanes, width = _chunk_of(stop - first)
        args = (
            target,
            pred,
            gamma,
            store,
            first,
            lanes,
            target_ends,
            pred_ends,
            shape_scale,
            time_scale,
            grad_target,
            grad_pred,
        )
        if width == WIDE:
            _backward_chunk(args, WIDE)
        else:
            _backward_chunk(args, NARROW)
        first += lanes


@njit(**KERNEL)
def largest_magnitude(values):
    """max |values| of a 1-D float64 array, NaN if one is NaN (what the forward returns, checked
    against the caller's dtype; a numpy reduction costs several times this call here)."""
    largest = 0.0
    for value in values:
        if value != value:
            return np.nan
        largest = max(largest, abs(value))
    return largest
