"""Time what one redraw of the loss playground computes, at its default settings; print a table.

Rows: the curves of every loss against 21 shifts and 21 heights, batched (`playground.curves`,
one kernel call per term for all forecasts) against one `dilate_loss` call per forecast (how the
page scored them before); the analysis of the drawn forecast (`playground.analyse`: every loss,
every gradient, the alignment views); a redraw after a move of the shift slider (the analysis
and the height curve: the page caches each curve apart). Median of repeats, in one run, in
CPU seconds of this process (all its threads): on a shared machine wall time mostly measures
the neighbours. NUMBA_NUM_THREADS=1 keeps numba's thread hand-offs out of small kernels.

    NUMBA_NUM_THREADS=1 python -m bench.bench_playground [--repeats 20]
"""

import argparse
import statistics
import time

import torch

from dilate_core.losses import dilate_loss, soft_dtw_divergence
from dilate_lab import playground


def median_seconds(function, repeats: int) -> float:
    function()  # compiled and warm
    times = []
    for _ in range(repeats):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return statistics.median(times)


def curves_one_call_per_forecast(target, alpha, gamma, shift, scale, smooth):
    """The 42 forecasts of `playground.curves`, each scored alone by `dilate_loss`."""
    forecasts = [playground.forecast_from(target, int(s), scale, smooth) for s in playground.SHIFTS]
    forecasts += [playground.forecast_from(target, shift, float(c), smooth) for c in playground.SCALES]
    target_batch = torch.tensor(target)[None, :, None]
    for forecast in forecasts:
        pred = torch.tensor(forecast)[None, :, None]
        dilate_loss(pred, target_batch, alpha, gamma)
        soft_dtw_divergence(pred, target_batch, gamma)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    repeats = parser.parse_args().repeats
    d = playground.DEFAULTS
    target = playground.step_target(d["length"], d["position"], d["height"], d["noise"])
    forecast = playground.forecast_from(target, d["shift"], d["scale"], d["smooth"])
    alpha, gamma = d["alpha"], d["gamma"]
    kwargs = {"shift": d["shift"], "scale": d["scale"], "smooth": d["smooth"]}
    rows = {
        "curves, one call per forecast": median_seconds(
            lambda: curves_one_call_per_forecast(target, alpha, gamma, **kwargs), repeats
        ),
        "curves, batched": median_seconds(lambda: playground.curves(target, alpha, gamma, **kwargs), repeats),
        "analyse the drawn forecast": median_seconds(
            lambda: playground.analyse(forecast, target, alpha, gamma), repeats
        ),
    }
    rows["height curve alone"] = median_seconds(
        lambda: playground.scale_curve(target, alpha, gamma, shift=d["shift"], smooth=d["smooth"]), repeats
    )
    rows["redraw after a shift move"] = rows["analyse the drawn forecast"] + rows["height curve alone"]
    print(f"Loss playground at its defaults (N = {len(target)}), CPU time, median of {repeats} repeats")
    print(f"{'computation':<42} {'ms':>8}")
    for name, seconds in rows.items():
        print(f"{name:<42} {1000 * seconds:>8.1f}")
    ratio = rows["curves, one call per forecast"] / rows["curves, batched"]
    print(f"batched curves: x{ratio:.1f} faster than one call per forecast")


if __name__ == "__main__":
    main()
