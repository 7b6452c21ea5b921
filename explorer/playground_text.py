"""The loss playground's words: its guided presets, and every sentence it writes about a forecast,
made from the numbers it states (the same numbers its charts draw), never fixed in advance."""

import numpy as np

from dilate_lab import playground

# A guided path through the playground: a name, one sentence, the settings it sets (every one of
# playground.DEFAULTS'), and what to look at once it is set.
PRESETS = {
    "a late step": {
        "sentence": "The right step, 3 steps late.",
        "settings": playground.DEFAULTS | {"shift": 3, "smooth": 1, "gamma": 0.1},
        "look": "MSE pays for the lag as if the height were wrong, and soft-DTW, which re-aligns the step, "
        "hardly at all (the curves at the bottom). The temporal term pushes the late step's points up, "
        "so that the step comes earlier: that push is what DILATE adds to soft-DTW's.",
    },
    "a smooth forecast": {
        "sentence": "A step on time but smeared over 9 steps, as a model trained with MSE draws an uncertain step.",
        "settings": playground.DEFAULTS | {"shift": 0, "smooth": 4, "gamma": 0.1},
        "look": "Compare MSE with the late step's: the smear costs it less than a lag would. soft-DTW and the "
        "divergence push the smeared points towards the two levels, to sharpen the step; the temporal "
        "term has little to do, the timing is right.",
    },
    "what gamma does": {
        "sentence": "A sharp step 3 steps late at the paper's gamma, 0.01.",
        "settings": playground.DEFAULTS | {"shift": 3, "smooth": 0, "gamma": 0.01},
        "look": "The soft path map is a single path and DILATE's gradient is 0, though its value sees the lag "
        "(the temporal term). Raise gamma step by step to 1: the soft map spreads over many paths, and the "
        "arrows come back.",
    },
    "what alpha trades": {
        "sentence": "The late, smeared step with alpha = 1: DILATE is soft-DTW alone.",
        "settings": playground.DEFAULTS | {"alpha": 1.0},
        "look": "DILATE's row of gradients equals soft-DTW's. Lower alpha towards 0 and watch it turn into the "
        "temporal term's push, and the formula's share of each term change.",
    },
    "when TDI says 0": {
        "sentence": "A flat forecast that misses the step entirely.",
        "settings": playground.DEFAULTS | {"shift": 0, "scale": 0.0, "smooth": 0},
        "look": "TDI is 0, yet the forecast misses the step entirely: every cell of a row of the cost matrix costs "
        "the same, so the diagonal ties with paths that lag by many steps, and DTW's tie-break picks the diagonal. "
        "TDI scores the timing of matched points; read it beside DTW, never alone.",
    },
}

# What each loss's gradient does, in words; the page adds where it pushes, from the numbers.
MEANING = {
    "MSE": "pulls each point towards the target's value at the same time step",
    "soft-DTW": "pulls each point towards the target values it is aligned with, wherever they lie in time: "
    "it fixes the shape, not the timing",
    "temporal": "moves points so that the alignment comes closer to the diagonal: it moves the step towards "
    "its true time",
    "DILATE": "is alpha × soft-DTW's push + (1 − alpha) × the temporal term's: shape and timing at once",
    "divergence": "is soft-DTW's push minus that of the forecast's alignment with itself; it stops only at the target",
}
# Why a gradient is 0 (playground.no_gradient_reason), apart from what the value sees.
WHY_NO_GRADIENT = {
    "identical": "the forecast equals the target: {name} is at its minimum, there is nothing to push.",
    "equal_matches": "at gamma = {gamma:g} the soft alignment weighs only pairs of equal values (the forecast is "
    "the target re-timed: DTW = 0). Moving a point a little changes those costs only to second order, and "
    "any other path costs so much more that its weight, exp(−cost / gamma), stays 0. Smooth the forecast a "
    "little, or raise gamma to 0.3 or more, and the gradient comes back.",
    "hard_path": "at gamma = {gamma:g} the soft alignment is a single path (every cell is 0 or 1): moving a point "
    "a little changes no path's weight, and {name} depends on the path only. Raise gamma so that nearby "
    "paths share the weight, and the gradient comes back.",
    "balanced": "the pushes on every point cancel out: {name} is at a stationary point for this forecast.",
}
PUSH_SHARE = 0.25  # the points a sentence names: pushed at least this share of the largest push


def points(first: int, last: int) -> str:
    return f"point {first}" if first == last else f"points {first}–{last}"


def steps(values) -> str:
    """Sorted integers as runs: [0, 1, 2, 3, 7] -> '0–3 and 7'."""
    runs = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = int(v)
        else:
            runs.append([int(v), int(v)])
    words = [f"{a}" if a == b else f"{a}–{b}" for a, b in runs]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def pushes_in_words(gradient) -> str:
    runs = playground.pushes(gradient, PUSH_SHARE)
    return ", ".join(f"{'raises' if up > 0 else 'lowers'} {points(first, last)}" for first, last, up in runs)


def no_gradient(reason: str, name: str, gamma: float, scores: dict[str, float]) -> str:
    """Why `name` has no gradient here, its value (which may well see the lag) kept apart."""
    why = WHY_NO_GRADIENT[reason].format(name=name, gamma=gamma)
    if reason in ("identical", "balanced"):
        return f"{name} has no gradient here: {why}"
    sees = f"the temporal term is {scores['temporal']:.4f}" + (
        "" if name == "temporal" else f", {name} {scores[name]:.4f}"
    )
    return (
        f"{name}'s value sees where the forecast's step is ({sees}), but its gradient is 0: {why} A model trained "
        f"with {name} would not move this forecast."
    )


def chosen_push(name: str, gradients: dict[str, np.ndarray], rate: float) -> str:
    """The sentence under the gradient chart of `name`, at the common learning rate `rate`."""
    largest = float(np.abs(gradients[name]).max())
    top_name = max(gradients, key=lambda n: np.abs(gradients[n]).max())
    top = float(np.abs(gradients[top_name]).max())
    scale = (
        f"Every loss is drawn at one learning rate, {rate:.3g}, the one that moves the most-pushed point of all "
        f"({top_name}'s) by {rate * top:.2g}"
    )
    if playground.push_size(gradients[name], gradients) == "practically 0":
        return (
            f"**{name}** {MEANING[name]}. Here its largest |gradient| is {largest:.3g}, {largest / top:.2%} of "
            f"{top_name}'s: one descent step moves no point by more than {rate * largest:.2g}, practically 0. {scale}."
        )
    return (
        f"**{name}** {MEANING[name]}. Here one descent step {pushes_in_words(gradients[name])}; its largest move is "
        f"{rate * largest:.2g} (largest |gradient| {largest:.3g}). {scale}."
    )


def every_push(gradients: dict[str, np.ndarray], rate: float, length: int) -> str:
    """One line per loss: where one descent step at the common rate moves the forecast, and how far."""
    lines = []
    for name, gradient in gradients.items():
        largest = float(np.abs(gradient).max())
        size = playground.push_size(gradient, gradients)
        if size == "none":
            lines.append(f"- **{name}**: moves nothing (no gradient)")
        elif size == "practically 0":
            lines.append(
                f"- **{name}**: practically nothing (largest move {rate * largest:.2g}, |gradient| {largest:.3g})"
            )
        else:
            moves = pushes_in_words(gradient)
            lines.append(f"- **{name}**: {moves} (largest move {rate * largest:.2g}, |gradient| {largest:.3g})")
    return (
        "At this forecast, one descent step of the same learning rate on each loss:\n"
        + "\n".join(lines)
        + f"\n\nMSE is a mean over the {length} points, soft-DTW and the divergence are sums along alignment paths: "
        f"for the same errors MSE's gradient is about {length} times smaller, as a model trained with it would feel."
    )


def change(value: float) -> str:
    """'grows by 0.123', 'falls by 0.093' or 'does not change (0.000)' at three decimals."""
    if round(value, 3) == 0:
        return "does not change (±0.000)"
    return f"{'grows' if value > 0 else 'falls'} by {abs(value):.3f}"


def curve_caption(shifts, shift_excess: dict[str, np.ndarray], shift: int, length: int) -> str:
    """The caption of the loss-vs-shift and loss-vs-height charts, from the shift chart's numbers:
    each loss's growth at this forecast's shift (3 steps late as the example when on time)."""
    late = shift or 3
    grown = {name: float(values[list(shifts).index(late)]) for name, values in shift_excess.items()}
    moved = f"{abs(late)} step{'s' if abs(late) > 1 else ''} {'late' if late > 0 else 'early'}"
    each = "; ".join(f"{name} {change(value)}" for name, value in grown.items())
    shape, timing = abs(grown["soft-DTW"]), abs(grown["temporal"])
    verdict = (
        f"Here soft-DTW, which re-aligns the step before scoring it, changes less than the temporal term "
        f"({shape:.3f} against {timing:.3f}): the temporal term is what makes DILATE care about timing."
        if shape < timing
        else f"Here soft-DTW changes more than the temporal term ({shape:.3f} against {timing:.3f}): at this gamma "
        "and smoothing the shift also changes how many alignment paths are cheap, which soft-DTW weighs."
    )
    return (
        "Each curve is a loss minus its own value for the forecast on time (left) or at the true height (right), "
        "the other settings as above, so that every curve starts from 0 where there is no error; the dotted line "
        f"is this forecast. MSE is a mean over the {length} points, soft-DTW and the divergence are sums along "
        "alignment paths and the temporal term a sum divided by N²: compare how each curve grows, not their sizes. "
        f"{moved}{' (this forecast)' if shift else ''}: {each}. {verdict}"
    )


def target_steps(where) -> str:
    return f"target step{'s' if len(where) > 1 else ''} {steps(where)}"


def path_caption(closest, tie_break, D, scores: dict[str, float], farthest=None) -> str:
    """Where the drawn path (the cheapest closest to the diagonal, (L, 2)) takes its lag, and where
    DTW's own tie-break path (the one TDI scores) takes it if elsewhere; with DTW's and TDI's values.
    farthest: the cheapest path farthest from the diagonal, (L, 2), to tell a diagonal that is one by a tie."""
    D = np.asarray(D)
    lag, where = playground.largest_lag(closest)
    metrics = f"DTW = {scores['dtw']:.3f}, TDI = {scores['tdi']:.4f} (on DTW's own path)."
    far_lag = playground.largest_lag(farthest)[0] if farthest is not None else 0
    if lag == 0 and far_lag != 0:
        drawn = (
            f"The path drawn is the diagonal, but only by a tie: a path that lags by up to {abs(far_lag)} steps costs "
            "the same, so a TDI of 0 says nothing of this forecast's timing."
        )
    elif lag == 0:
        drawn = "The path drawn is the diagonal: every point is matched at its own time."
    else:
        drawn = (
            f"The path drawn, the cheapest closest to the diagonal, takes its largest lag, {abs(lag)} step"
            f"{'s' if abs(lag) > 1 else ''} ({'forecast late' if lag > 0 else 'forecast early'}), at "
            f"{target_steps(where)}."
        )
    own_lag, own_where = playground.largest_lag(tie_break)
    same_cost = np.isclose(D[tuple(np.asarray(closest).T)].sum(), D[tuple(np.asarray(tie_break).T)].sum())
    if np.array_equal(np.asarray(closest), np.asarray(tie_break)) or not same_cost:
        return f"{drawn} {metrics}"
    return (
        f"{drawn} DTW's own tie-break finds a path of the same cost that takes its largest lag, {abs(own_lag)}, at "
        f"{target_steps(own_where)} instead: where costs tie, where the path leaves the diagonal is arbitrary. "
        f"{metrics}"
    )
