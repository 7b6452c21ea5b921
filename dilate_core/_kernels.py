"""numba kernels for soft-DTW, its expected alignment, its Hessian-vector product and exact DTW.

Every kernel works on a batch in float64 and is parallel over the batch (`softmin3_single`,
the soft minimum in float32 arithmetic, serves the fused DILATE kernels for float32 series).
Grids are padded:
a cost matrix D of shape (B, N, M) lives in arrays of shape (B, N + 2, M + 2) whose cell
(i, j) is the paper's 1-based cell, row and column 0 hold the boundary and row N + 1 and
column M + 1 are zero so the backward sweeps need no bounds checks. Inputs (D, Z) and
outputs the caller sees are unpadded and 0-based.
"""

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from dilate_core._numba_cache import announce_compiles, cache_enabled

INF = np.inf  # the one sentinel for "no path reaches this cell"
# exp(-40) < 2^-57: a softmin term this small cannot change a sum that holds exp(0) = 1, so its
# weight is 0. Below it the exponential is not evaluated (and -inf never reaches it).
NEGLIGIBLE_EXPONENT = 40.0
LOG2_E = 1.4426950408889634
# ln 2 = LN2_HI + LN2_LO, LN2_HI with few enough bits that k * LN2_HI is exact for |k| <= 58
LN2_HI, LN2_LO = 6.93145751953125e-1, 1.42860682030941723212e-6
INV_SQRT3, HALF_LN3 = 0.5773502691896258, 0.5493061443340549
# Every kernel that divides uses error_model="numpy": no ZeroDivisionError branch, which would
# stop LLVM from vectorising the loops (no denominator here can be 0). Cached on disk where
# a place can be written (see _numba_cache).
KERNEL = {"cache": cache_enabled(), "error_model": "numpy", "fastmath": {"contract"}}
announce_compiles()  # a one-line notice when a kernel compiles (a cold cache)


def _power_of_two_codegen(float_type, int_type, mantissa_bits, bias):
    """An intrinsic's body: 2^k for an integer k with a normal result, as the float whose IEEE 754
    bits are (k + bias) << mantissa_bits. Two integer instructions, which vectorise (libm's ldexp
    would not)."""

    def codegen(context, builder, signature, args):
        k = args[0]
        k = builder.sext(k, int_type) if k.type.width < int_type.width else builder.trunc(k, int_type)
        biased = builder.add(k, ir.Constant(int_type, bias))
        return builder.bitcast(builder.shl(biased, ir.Constant(int_type, mantissa_bits)), float_type)

    return codegen


@intrinsic
def _power_of_two(typingctx, k):
    """2.0^k as float64, for an integer -1022 <= k <= 1023."""
    if isinstance(k, types.Integer):
        return types.float64(k), _power_of_two_codegen(ir.DoubleType(), ir.IntType(64), 52, 1023)
    return None


@intrinsic
def _power_of_two_single(typingctx, k):
    """2.0^k as float32, for an integer -126 <= k <= 127."""
    if isinstance(k, types.Integer):
        return types.float32(k), _power_of_two_codegen(ir.FloatType(), ir.IntType(32), 23, 127)
    return None


@njit(inline="always", **KERNEL)
def exp_neg(x):
    """exp(x) for x <= 0, and 0 for x <= -NEGLIGIBLE_EXPONENT; within 2 ulp, branch-free.

    Cody-Waite reduction x = k ln 2 + r, |r| <= ln(2) / 2, Taylor series of e^r to degree 13
    (truncation < 4e-18), then 2^k (-58 <= k <= 0) written into the exponent bits. Written without
    calls so that LLVM vectorises loops over it, which it cannot do with libm's exp.
    """
    x_clamped = max(x, -NEGLIGIBLE_EXPONENT)
    k = np.floor(x_clamped * LOG2_E + 0.5)
    r = (x_clamped - k * LN2_HI) - k * LN2_LO
    e_r = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (
        1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (1 / 3628800 + r * (1 / 39916800 + r * (
            1 / 479001600 + r * (1 / 6227020800)))))))))))))  # fmt: skip
    m = np.int64(-k)  # 0 <= m <= 58
    return e_r * _power_of_two(-m) if x > -NEGLIGIBLE_EXPONENT else 0.0


@njit(inline="always", **KERNEL)
def log_1_to_3(t):
    """log(t) for 1 <= t <= 3 (a softmin's sum of three weights, one of them 1), within 1e-15.

    log t = log sqrt(3) + 2 atanh(s), s = (t / sqrt 3 - 1) / (t / sqrt 3 + 1), |s| <= 0.268:
    the odd series of atanh to s^31 (truncation < 1e-17). Branch-free, like `exp_neg`.
    """
    s = (t * INV_SQRT3 - 1.0) / (t * INV_SQRT3 + 1.0)
    z = s * s
    series = 1 / 3 + z * (1 / 5 + z * (1 / 7 + z * (1 / 9 + z * (1 / 11 + z * (1 / 13 + z * (1 / 15 + z * (
        1 / 17 + z * (1 / 19 + z * (1 / 21 + z * (1 / 23 + z * (1 / 25 + z * (1 / 27 + z * (
            1 / 29 + z * (1 / 31))))))))))))))  # fmt: skip
    return HALF_LN3 + 2.0 * s * (1.0 + z * series)


@njit(inline="always", **KERNEL)
def softmin3(a, b, c, gamma):
    """Stable soft minimum -gamma log(e^{-a/gamma} + e^{-b/gamma} + e^{-c/gamma}).

    Returns the value and the three softmax weights, which sum to one.
    """
    rmin = a if a < b else b
    rmin = rmin if rmin < c else c
    # Subtracting the minimum keeps every exponent <= 0: no overflow for tiny gamma. One division
    # (hoisted out of the callers' loops) instead of three per cell.
    inverse_gamma = 1.0 / gamma
    wa = exp_neg((rmin - a) * inverse_gamma)
    wb = exp_neg((rmin - b) * inverse_gamma)
    wc = exp_neg((rmin - c) * inverse_gamma)
    total = wa + wb + wc  # in [1, 3]: the minimum contributes exp(0) = 1
    inverse = 1.0 / total
    return rmin - gamma * log_1_to_3(total), wa * inverse, wb * inverse, wc * inverse


_f = np.float32
# float32 constants, so that float32 arithmetic stays float32 (a Python float would promote it).
_ONE, _HALF, _ZERO = _f(1.0), _f(0.5), _f(0.0)
_NEGLIGIBLE32, _LOG2_E32 = _f(NEGLIGIBLE_EXPONENT), _f(LOG2_E)
_LN2_HI32, _LN2_LO32 = _f(0.693359375), _f(-2.12194440e-4)  # ln 2 = HI + LO, HI exact in 9 bits
_INV_SQRT3_32, _HALF_LN3_32 = _f(INV_SQRT3), _f(HALF_LN3)
_C2, _C3, _C4, _C5, _C6, _C7 = (_f(1 / n) for n in (2, 6, 24, 120, 720, 5040))
_S3, _S5, _S7, _S9, _S11 = (_f(1 / n) for n in (3, 5, 7, 9, 11))


@njit(inline="always", **KERNEL)
def exp_neg_single(x):
    """exp(x) for float32 x <= 0 (0 below -NEGLIGIBLE_EXPONENT), to float32 precision, branch-free:
    as `exp_neg` with the Taylor series of e^r to degree 7 (truncation < 6e-9)."""
    x_clamped = max(x, -_NEGLIGIBLE32)
    m = np.int32(_HALF - x_clamped * _LOG2_E32)  # round(-x / ln 2) in 0..58, by truncating a positive
    k = _f(-m)
    r = (x_clamped - k * _LN2_HI32) - k * _LN2_LO32
    e_r = _ONE + r * (_ONE + r * (_C2 + r * (_C3 + r * (_C4 + r * (_C5 + r * (_C6 + r * _C7))))))
    return e_r * _power_of_two_single(-m) if x > -_NEGLIGIBLE32 else _ZERO


@njit(inline="always", **KERNEL)
def log_1_to_3_single(t):
    """log(t) for float32 1 <= t <= 3, to float32 precision: `log_1_to_3` to s^11."""
    s = (t * _INV_SQRT3_32 - _ONE) / (t * _INV_SQRT3_32 + _ONE)
    z = s * s
    return _HALF_LN3_32 + _f(2.0) * s * (_ONE + z * (_S3 + z * (_S5 + z * (_S7 + z * (_S9 + z * _S11)))))


@njit(inline="always", **KERNEL)
def softmin3_single(a, b, c, gamma, inverse_gamma):
    """`softmin3` with the exponentials and the log in float32: the float64 differences
    to the minimum, scaled by 1 / gamma, are rounded to float32 first; the value stays float64."""
    rmin = a if a < b else b
    rmin = rmin if rmin < c else c
    wa = exp_neg_single(_f((rmin - a) * inverse_gamma))
    wb = exp_neg_single(_f((rmin - b) * inverse_gamma))
    wc = exp_neg_single(_f((rmin - c) * inverse_gamma))
    total = wa + wb + wc
    inverse = _ONE / total
    return rmin - gamma * np.float64(log_1_to_3_single(total)), wa * inverse, wb * inverse, wc * inverse


@njit(**KERNEL)
def _softmin_lanes(staged, result, lanes, gamma):
    """softmin3 over `lanes` series at once: staged = [diagonal, up, left, D] and result =
    [w0, w1, w2, R], each a block of `lanes` values. Two distinct buffers, so LLVM vectorises."""
    for k in range(lanes):
        value, w0, w1, w2 = softmin3(staged[k], staged[lanes + k], staged[2 * lanes + k], gamma)
        result[k] = w0
        result[lanes + k] = w1
        result[2 * lanes + k] = w2
        result[3 * lanes + k] = staged[3 * lanes + k] + value


@njit(parallel=True, **KERNEL)
def soft_dtw_forward(D, gamma, P, values, n_chunks):
    """Soft-DTW recursion (Cuturi & Blondel 2017, Algorithm 1), storing the softmin weights.

    D : (B, N, M) costs, float32 or float64. values : (B,) output, soft-DTW R[N, M].
    P : (B, N + 2, M + 2, 3) output, the weights of the predecessors (i-1, j-1), (i-1, j),
    (i, j-1) of each cell, so that the backward passes need no exp or log.
    Returns True when some cost is NaN or infinite (the results are then meaningless).
    The batch is cut into n_chunks chunks, one per thread. A thread sweeps the grid once for
    its chunk, row by row, computing each cell for all its series in one vectorised loop (SIMD
    lanes). It keeps two rows of R and one of D with the series in the last axis, so that the
    lanes of a cell are contiguous; R is never stored whole.
    """
    B, N, M = D.shape
    chunk = (B + n_chunks - 1) // n_chunks
    chunks_not_finite = 0
    for c in prange(n_chunks):
        first = c * chunk
        lanes = min(B, first + chunk) - first
        if lanes <= 0:
            continue
        R_above = np.empty((M + 1, lanes))  # row i - 1 of R, columns 0..M, one value per series
        R_here = np.empty((M + 1, lanes))  # row i
        D_here = np.empty((M, lanes))  # row i of D (0-based: D[:, i - 1, :])
        staged = np.empty(4 * lanes)
        result = np.empty(4 * lanes)
        finite_check = 0.0  # becomes NaN at the first cost d for which d - d is not 0
        # Initialization: row 0 of R, and zero weights beyond the grid.
        R_above[:, :] = INF
        R_above[0, :] = 0.0
        for b in range(first, first + lanes):
            P[b, N + 1, :, :] = 0.0
            P[b, :, M + 1, :] = 0.0
        # DP recursion, row by row; one cell for every series of the chunk at a time.
        for i in range(1, N + 1):
            for k in range(lanes):
                for j in range(M):
                    cost = D[first + k, i - 1, j]
                    D_here[j, k] = cost
                    finite_check += cost - cost
            R_here[0, :] = INF
            for j in range(1, M + 1):
                for k in range(lanes):
                    staged[k] = R_above[j - 1, k]
                    staged[lanes + k] = R_above[j, k]
                    staged[2 * lanes + k] = R_here[j - 1, k]
                    staged[3 * lanes + k] = D_here[j - 1, k]
                _softmin_lanes(staged, result, lanes, gamma)
                for k in range(lanes):
                    P[first + k, i, j, 0] = result[k]
                    P[first + k, i, j, 1] = result[lanes + k]
                    P[first + k, i, j, 2] = result[2 * lanes + k]
                    R_here[j, k] = result[3 * lanes + k]
            R_above, R_here = R_here, R_above
        for k in range(lanes):
            values[first + k] = R_above[M, k]
        chunks_not_finite += 0 if finite_check == 0.0 else 1
    return chunks_not_finite > 0


@njit(parallel=True, **KERNEL)
def soft_dtw_backward(P, scale, E, out):
    """Expected alignment E = dR[N, M] / dD (Cuturi & Blondel 2017, Algorithm 2), scaled.

    P : (B, N + 2, M + 2, 3) weights from `soft_dtw_forward`. scale : (B,) factors.
    E : (B, N + 2, M + 2) output; E[:, 1:N+1, 1:M+1] is the alignment, row and column N + 1,
    M + 1 are zero, row and column 0 are left unwritten.
    out : (B, N, M) output, float32 or float64: scale[b] * E[b] without the padding, i.e. the
    gradient of sum_b scale[b] softDTW(D_b).
    """
    B = P.shape[0]
    N = P.shape[1] - 2
    M = P.shape[2] - 2
    for b in prange(B):
        # Initialization: zero beyond the grid, 1 at the end cell.
        E[b, N + 1, :] = 0.0
        E[b, :, M + 1] = 0.0
        E[b, N, M] = 1.0
        out[b, N - 1, M - 1] = scale[b]  # out is 0-based
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
                out[b, i - 1, j - 1] = scale[b] * E[b, i, j]


@njit(parallel=True, **KERNEL)
def soft_dtw_hvp(Z, P, E, gamma, R_dot, E_dot, out):
    """Hessian of soft-DTW times Z, i.e. the derivative of E along Z (Mensch & Blondel 2018, Alg. 3).

    Z : (B, N, M) direction, float32 or float64. P, E : from the forward and backward passes.
    R_dot : (B, N + 2, M + 2) work array, the forward-mode tangent of R.
    E_dot : (B, N + 2, M + 2) work array, the tangent of E.
    out : (B, N, M) output, H Z (E_dot without the padding).
    """
    B, N, M = Z.shape
    for b in prange(B):
        # Initialization: no tangent on the boundary, none flowing back from the end cell.
        R_dot[b, 0, :] = 0.0
        R_dot[b, :, 0] = 0.0
        E_dot[b, N, M] = 0.0
        out[b, N - 1, M - 1] = 0.0  # out is 0-based
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
        inverse_gamma = 1.0 / gamma
        for i in range(N, 0, -1):
            for j in range(M, 0, -1):
                if i == N and j == M:
                    continue
                r_dot = R_dot[b, i, j]
                total = 0.0
                # Successors lie one row and/or column further; Z is 0-based, hence the -1s.
                if i < N and j < M:
                    s_dot = R_dot[b, i + 1, j + 1] - Z[b, i, j]
                    weight_dot = E[b, i + 1, j + 1] * (r_dot - s_dot) * inverse_gamma
                    total += P[b, i + 1, j + 1, 0] * (E_dot[b, i + 1, j + 1] - weight_dot)
                if i < N:
                    s_dot = R_dot[b, i + 1, j] - Z[b, i, j - 1]
                    weight_dot = E[b, i + 1, j] * (r_dot - s_dot) * inverse_gamma
                    total += P[b, i + 1, j, 1] * (E_dot[b, i + 1, j] - weight_dot)
                if j < M:
                    s_dot = R_dot[b, i, j + 1] - Z[b, i - 1, j]
                    weight_dot = E[b, i, j + 1] * (r_dot - s_dot) * inverse_gamma
                    total += P[b, i, j + 1, 2] * (E_dot[b, i, j + 1] - weight_dot)
                E_dot[b, i, j] = total
                out[b, i - 1, j - 1] = total


@njit(parallel=True, **KERNEL)
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


@njit(**KERNEL)
def swinging_door(Y, epsilon, kept):
    """Swinging-door compression (Bristol 1990) of each row of Y (B, N): kept[b, t] = True for the
    points that the piecewise-linear approximation within +-epsilon keeps (first and last always).

    From the last kept point a, the upper door pivots at y_a + epsilon and the lower at y_a - epsilon;
    each new point k narrows them to the steepest slope from the upper pivot and the shallowest
    from the lower one. When the upper slope exceeds the lower, no line from a stays within
    epsilon of every point since: k - 1 is kept and the doors restart there.
    """
    B, N = Y.shape
    for b in range(B):
        kept[b, :] = False
        kept[b, 0] = True
        kept[b, N - 1] = True
        a = 0
        upper, lower = -INF, INF
        for k in range(1, N):
            step = k - a
            new_upper = max(upper, (Y[b, k] - Y[b, a] - epsilon) / step)
            new_lower = min(lower, (Y[b, k] - Y[b, a] + epsilon) / step)
            if new_upper > new_lower:
                a = k - 1
                kept[b, a] = True
                upper, lower = Y[b, k] - Y[b, a] - epsilon, Y[b, k] - Y[b, a] + epsilon
            else:
                upper, lower = new_upper, new_lower
