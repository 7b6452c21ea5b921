"""The loss playground: one step target, forecasts made from it, and how each loss scores them.

Series here are 1-D arrays of one feature, shape (N,); every loss is evaluated in float64 on
the batch of forecasts at once, so a whole curve (one loss per shift) costs one kernel call.
"""

import numpy as np
import torch

from dilate_core.losses import cost_matrix, dilate_loss, soft_alignment, soft_dtw, soft_dtw_divergence
from dilate_core.metrics import alignment_views, per_series

LOSS_NAMES = ("MSE", "soft-DTW", "temporal", "DILATE", "divergence")
# The playground's first view: a step made late and smeared, as an MSE-trained model draws it, at a
# gamma where the soft alignment still weighs several paths, so every loss has a visible gradient
# (a sharp late step at gamma = 0.01 has none but MSE's: see `no_gradient_reason`).
DEFAULTS = {
    "length": 40,  # steps in the series
    "position": 20,  # first step at the new level
    "height": 1.0,  # the step's height
    "noise": 0.0,  # deviation of the target's Gaussian noise
    "shift": 3,  # steps late (negative: early)
    "scale": 1.0,  # forecast step height / the target's
    "smooth": 2,  # half-width of the forecast's moving average
    "alpha": 0.5,  # DILATE's shape weight
    "gamma": 0.1,  # soft-DTW's temperature
}
# A few short series per call: the numba kernels over the cost matrix, which compile in seconds
# where the fused ones take half a minute (see `dilate_loss`), with the same values.
BACKEND = "matrix"
NO_GRADIENT = 1e-6  # largest |d loss / d point| still called "no gradient": below float noise of a push
# A loss whose largest push is under this share of the largest push of all the losses moves the
# forecast by under a pixel of a 300-pixel chart at their common scale: "practically 0".
VISIBLE = 0.01


def step_target(length: int = 40, position: int = 20, height: float = 1.0, noise: float = 0.0, seed: int = 0):
    """A step of `height` from index `position` on, plus Gaussian noise of deviation `noise`: (length,)."""
    if not 4 <= length <= 200 or not 1 <= position < length:
        raise ValueError(f"Need 4 <= length <= 200 and 1 <= position < length, got {length} and {position}.")
    series = np.where(np.arange(length) >= position, float(height), 0.0)
    return series + noise * np.random.default_rng(seed).standard_normal(length)


def forecast_from(target: np.ndarray, shift: int = 0, scale: float = 1.0, smooth: int = 0) -> np.ndarray:
    """A forecast made from the target: delayed by `shift` steps (early if negative, edges held),
    its deviation from the first value scaled by `scale`, then averaged over 2 * smooth + 1 steps."""
    n = len(target)
    index = np.clip(np.arange(n) - shift, 0, n - 1)
    forecast = target[0] + scale * (target[index] - target[0])
    if smooth > 0:
        padded = np.pad(forecast, smooth, mode="edge")
        forecast = np.convolve(padded, np.ones(2 * smooth + 1) / (2 * smooth + 1), mode="valid")
    return forecast


def _as_batch(series) -> torch.Tensor:
    return torch.tensor(np.asarray(series, dtype=np.float64))[..., None]  # (..., N, 1), a copy


def losses(forecasts, target, alpha: float = 0.5, gamma: float = 0.01) -> dict[str, np.ndarray]:
    """Every loss of each forecast (K, N) against one target (N,): name -> (K,) values.

    DILATE's two terms per forecast, as `dilate_loss` defines them for a batch of one: shape =
    soft-DTW of the costs, temporal = <E, Omega> / N^2 with Omega[i, j] = (i - j)^2; all K in
    one kernel call each."""
    forecasts = np.atleast_2d(forecasts)
    pred = _as_batch(forecasts)  # (K, N, 1)
    target_batch = _as_batch(target)[None].expand(len(forecasts), -1, -1)
    N = target_batch.shape[1]
    with torch.no_grad():
        D = cost_matrix(target_batch, pred)  # (K, N, N)
        shape = soft_dtw(D, gamma, BACKEND).numpy()
        steps = np.arange(N)
        Omega = torch.tensor((steps[:, None] - steps[None, :]) ** 2, dtype=torch.float64)
        temporal = (soft_alignment(D, gamma, BACKEND) * Omega).sum(dim=(1, 2)).numpy() / N**2
        return {
            "MSE": ((pred - target_batch) ** 2).mean(dim=(1, 2)).numpy(),
            "soft-DTW": shape,
            "temporal": temporal,
            "DILATE": alpha * shape + (1 - alpha) * temporal,
            "divergence": soft_dtw_divergence(pred, target_batch, gamma, BACKEND).numpy(),
        }


SHIFTS = np.arange(-10, 11)  # steps of delay (negative: early)
SCALES = np.linspace(0.0, 2.0, 21)  # step height relative to the target's


def shift_curve(target, alpha: float = 0.5, gamma: float = 0.01, shifts=SHIFTS, scale: float = 1.0, smooth: int = 0):
    """Each loss of the forecasts made from the target with each shift, at height `scale` and
    smoothing `smooth`: (shifts, name -> (len(shifts),) values)."""
    shifts = np.asarray(list(shifts))
    forecasts = np.stack([forecast_from(target, int(s), scale, smooth) for s in shifts])
    return shifts, losses(forecasts, target, alpha, gamma)


def scale_curve(target, alpha: float = 0.5, gamma: float = 0.01, scales=SCALES, shift: int = 0, smooth: int = 0):
    """Each loss of the forecasts made from the target with each height scale, shifted by `shift`
    and smoothed by `smooth`: (scales, name -> (len(scales),) values)."""
    scales = np.asarray(scales)
    forecasts = np.stack([forecast_from(target, shift, float(c), smooth) for c in scales])
    return scales, losses(forecasts, target, alpha, gamma)


def curves(
    target,
    alpha: float = 0.5,
    gamma: float = 0.01,
    shifts=SHIFTS,
    scales=SCALES,
    shift: int = 0,
    scale: float = 1.0,
    smooth: int = 0,
):
    """Each loss as a function of the time shift and of the height scale of a forecast made from
    the target, the other settings held at `shift`, `scale`, `smooth` (so the forecast they make
    lies on both curves): {'shift': (shifts, name -> values), 'scale': (scales, name -> values)}."""
    return {
        "shift": shift_curve(target, alpha, gamma, shifts, scale, smooth),
        "scale": scale_curve(target, alpha, gamma, scales, shift, smooth),
    }


def excess(x, values: dict[str, np.ndarray], at: float) -> dict[str, np.ndarray]:
    """Each curve (name -> values over x) minus its value where x == at: how much a loss grows
    away from `at`, on one scale for every loss (their own values differ by orders and sign)."""
    index = int(np.argmin(np.abs(np.asarray(x, dtype=float) - at)))
    if not np.isclose(x[index], at):
        raise ValueError(f"{at} is not among the curve's x values.")
    return {name: v - v[index] for name, v in values.items()}


def gradients(forecast, target, alpha: float = 0.5, gamma: float = 0.01) -> dict[str, np.ndarray]:
    """d loss / d forecast[j] for every loss: name -> (N,), where one step of descent would move it."""
    out = {}
    for name in LOSS_NAMES:
        pred = _as_batch(forecast)[None].clone().requires_grad_(True)  # (1, N, 1)
        target_batch = _as_batch(target)[None]
        if name == "MSE":
            value = ((pred - target_batch) ** 2).mean()
        elif name == "divergence":
            value = soft_dtw_divergence(pred, target_batch, gamma, BACKEND).sum()
        else:
            loss, shape, temporal = dilate_loss(pred, target_batch, alpha, gamma, BACKEND)
            value = {"soft-DTW": shape, "temporal": temporal, "DILATE": loss}[name]
        (grad,) = torch.autograd.grad(value, pred)
        out[name] = grad[0, :, 0].numpy()
    return out


def analyse(forecast, target, alpha: float = 0.5, gamma: float = 0.01) -> dict:
    """Everything the playground shows of one forecast (N,) against its target (N,): 'scores'
    (name -> float), 'gradients' (name -> (N,)), and 'views', `alignment_views`' D, path, E, scores."""
    return {
        "scores": {name: float(values[0]) for name, values in losses(forecast, target, alpha, gamma).items()},
        "gradients": gradients(forecast, target, alpha, gamma),
        "views": alignment_views(np.asarray(target)[:, None], np.asarray(forecast)[:, None], gamma),
    }


def common_rate(gradients: dict[str, np.ndarray], largest_move: float) -> float:
    """The one learning rate for every loss (name -> (N,) gradient): the one that moves the
    most-pushed point of all the losses by `largest_move`; 0 if no loss has a gradient.

    One rate for all, as training would use: a loss whose gradient is 1000 times smaller moves
    the forecast 1000 times less, and is drawn so."""
    top = max(float(np.abs(g).max()) for g in gradients.values())
    return largest_move / top if top > NO_GRADIENT else 0.0


def descent_step(forecast, gradient, rate: float) -> np.ndarray:
    """Where one gradient-descent step of learning rate `rate` moves each point: forecast - rate * gradient, (N,)."""
    return np.asarray(forecast, dtype=float) - rate * np.asarray(gradient, dtype=float)


def push_size(gradient, gradients: dict[str, np.ndarray]) -> str:
    """How a loss's gradient (N,) compares at the losses' common scale (every gradient, name -> (N,)):
    'none' (at most NO_GRADIENT everywhere), 'practically 0' (its largest push under VISIBLE of the
    largest push of all the losses: its arrows would be under a pixel) or 'pushes'."""
    largest = float(np.abs(gradient).max())
    if largest <= NO_GRADIENT:
        return "none"
    top = max(float(np.abs(g).max()) for g in gradients.values())
    return "practically 0" if largest < VISIBLE * top else "pushes"


def closest_cheapest_path(D, rtol: float = 1e-9, farthest: bool = False) -> np.ndarray:
    """Among the DTW paths of least cost through D (N, M), the one closest to the diagonal (least
    sum of (i - j)^2; the farthest if `farthest`), as (L, 2) (i, j) pairs.

    Where costs tie (a flat stretch matches any flat stretch at cost 0), DTW's own tie-break puts
    the path's detours wherever its recursion meets them first, often at t = 0; this one keeps to
    the diagonal until the series force it off, so a lag shows where it happens. Costs within
    rtol of the least (relative to it, or absolute below 1) count as equal."""
    D = np.asarray(D, dtype=float)
    N, M = D.shape
    cost = np.full((N, M), np.inf)
    Omega = np.zeros((N, M))  # sum of (i - j)^2 along the chosen path to (i, j)
    came = np.zeros((N, M), dtype=np.int64)  # 0: diagonal, 1: from above (i - 1), 2: from the left (j - 1)
    cost[0, 0] = D[0, 0]
    # DP recursion, lexicographic: least cost first, then least Omega; the diagonal wins full ties.
    for i in range(N):
        for j in range(M):
            if i == 0 and j == 0:
                continue
            options = [(i - 1, j - 1, 0), (i - 1, j, 1), (i, j - 1, 2)]
            options = [(a, b, k) for a, b, k in options if a >= 0 and b >= 0]
            least = min(cost[a, b] for a, b, _ in options)
            tied = [(a, b, k) for a, b, k in options if cost[a, b] <= least + rtol * max(1.0, abs(least))]
            a, b, k = min(tied, key=lambda o: ((-1 if farthest else 1) * Omega[o[0], o[1]], o[2]))
            cost[i, j] = D[i, j] + cost[a, b]
            Omega[i, j] = (i - j) ** 2 + Omega[a, b]
            came[i, j] = k
    path, i, j = [(N - 1, M - 1)], N - 1, M - 1
    while (i, j) != (0, 0):  # back from the end, along the choices made
        i, j = (i - 1, j - 1) if came[i, j] == 0 else (i - 1, j) if came[i, j] == 1 else (i, j - 1)
        path.append((i, j))
    return np.array(path[::-1])


def largest_lag(path) -> tuple[int, np.ndarray]:
    """The path's (L, 2) largest lag j - i (forecast step minus target step, signed; 0 on the
    diagonal) and the target steps i where it reaches it, sorted: (lag, (K,) steps)."""
    path = np.asarray(path)
    lags = path[:, 1] - path[:, 0]
    lag = int(lags[np.argmax(np.abs(lags))])
    return lag, np.unique(path[lags == lag, 0])


def pushes(gradient, share: float = 0.25) -> list[tuple[int, int, int]]:
    """The runs of neighbouring points that one descent step moves most, as (first, last, direction)
    with direction +1 (up: the gradient is negative) or -1 (down): the points whose push is at
    least `share` of the largest one, grouped while the direction holds. [] if there is no gradient."""
    gradient = np.asarray(gradient, dtype=float)
    largest = np.abs(gradient).max()
    if largest <= NO_GRADIENT:
        return []
    runs = []
    for j in np.flatnonzero(np.abs(gradient) >= share * largest):
        direction = -int(np.sign(gradient[j]))
        if runs and runs[-1][1] == j - 1 and runs[-1][2] == direction:
            runs[-1] = (runs[-1][0], int(j), direction)
        else:
            runs.append((int(j), int(j), direction))
    return runs


def no_gradient_reason(name: str, gradient, E, D) -> str | None:
    """Why a loss's gradient (N,) is 0 at every point, or None if it pushes some point.

    E, D : (N, N) the soft alignment and the costs of this forecast. Reasons:
    'identical': the forecast is the target, the minimum of MSE and of the divergence;
    'equal_matches': every pair the soft alignment weighs has equal values (sum E * D = 0): the
    forecast is the target re-timed, and nudging a point changes those costs only to second order;
    'hard_path': the soft alignment is one path (E is 0 or 1): a small move changes no path weight,
    so the temporal term, which depends on the path only, stays put;
    'balanced': the pushes cancel at every point.
    """
    if np.abs(gradient).max() > NO_GRADIENT:
        return None
    E, D = np.asarray(E), np.asarray(D)
    if name in ("MSE", "divergence") and not D.diagonal().any():  # D[j, j] = 0: forecast[j] = target[j]
        return "identical"
    if (E * D).sum() <= NO_GRADIENT:
        return "equal_matches"
    if np.minimum(E, 1 - E).max() <= NO_GRADIENT:
        return "hard_path"
    return "balanced"


def ranking(values: dict[str, float], rtol: float = 1e-9) -> list[list[str]]:
    """Names ordered by value, lowest first, names with equal values (within rtol of the largest
    magnitude) grouped: {'a': 0, 'b': 2, 'c': 0} -> [['a', 'c'], ['b']]."""
    ordered = sorted(values, key=values.get)
    tolerance = rtol * max(1.0, max(abs(v) for v in values.values()))
    groups = [[ordered[0]]]
    for name in ordered[1:]:
        if values[name] - values[groups[-1][0]] <= tolerance:
            groups[-1].append(name)
        else:
            groups.append([name])
    return groups


def scorecard(forecasts: dict[str, np.ndarray], target, alpha: float = 0.5, gamma: float = 0.01) -> dict:
    """name -> {measure: value}: the paper's metrics (MSE, DTW, TDI) and every loss of each forecast (N,)."""
    names = list(forecasts)
    stacked = np.stack([forecasts[name] for name in names])  # (K, N)
    scores = losses(stacked, target, alpha, gamma)
    metrics = per_series(_as_batch(stacked), _as_batch(target)[None].expand(len(names), -1, -1))
    return {
        name: {"MSE": float(metrics["mse"][k]), "DTW": float(metrics["dtw"][k]), "TDI": float(metrics["tdi"][k])}
        | {loss: float(values[k]) for loss, values in scores.items() if loss != "MSE"}
        for k, name in enumerate(names)
    }
