"""Run alone (`python -m tests.warmup_check`), in a process whose numba cache may be empty: warm up
the groups the app's server compiles, call everything the app, its training jobs and the sweeps'
evaluation call; then warm up the library (dilate_core.warmup) and call what else it offers. Prints as JSON
which kernels warmup() left uncompiled and which specialisations the calls still had to compile."""

import json

import numpy as np
import torch
from numba.core.dispatcher import Dispatcher

import dilate_core
from dilate_core import _fused, _kernels, losses, metrics
from dilate_lab import playground
from explorer import kernel_plan
from explorer.kernels import APP_GROUPS


def kernels() -> dict:
    """Every numba kernel compiled on its own (helpers inlined into their callers excepted)."""
    return {
        f"{module.__name__}.{name}": kernel
        for module in (_kernels, _fused)
        for name, kernel in vars(module).items()
        if isinstance(kernel, Dispatcher) and kernel.targetoptions.get("inline") != "always"
    }


def called_from_python(name: str) -> bool:
    """The public kernels; private ones are compiled inside their callers (or loaded with them)."""
    return not name.rsplit(".", 1)[-1].startswith("_")


def signatures() -> dict[str, set[str]]:
    return {name: {str(s) for s in kernel.signatures} for name, kernel in kernels().items()}


def compiled_since(before: dict[str, set[str]]) -> dict[str, list[str]]:
    return {name: sorted(now - before[name]) for name, now in signatures().items() if now - before[name]}


def the_apps_uses() -> None:
    """What the pages, the training jobs (float32) and the sweeps' evaluation call, at other sizes than warmup's."""
    target = playground.step_target(12, 6)
    playground.scorecard({"late": playground.forecast_from(target, shift=2)}, target)
    playground.gradients(playground.forecast_from(target, smooth=2), target)
    metrics.alignment_views(target[:, None], target[::-1, None].copy(), 0.1)
    every_loss(torch.float32)
    series = np.random.default_rng(0).random((4, 9, 1))
    metrics.external(series, series[::-1].copy())


def every_loss(dtype: torch.dtype) -> None:
    """Every loss, its gradient and the paper's metrics on series of `dtype`, through the default backend."""
    pred = torch.rand(5, 7, 2, dtype=dtype, requires_grad=True)
    target_series = torch.rand(5, 6, 2, dtype=dtype)
    loss, _, _ = losses.dilate_loss(pred, target_series)
    loss = loss + losses.soft_dtw_divergence(pred, target_series, 0.1).sum()
    loss = loss + losses.dilate_t_loss(pred, target_series, omega="band")
    loss = loss + losses.dilate_t_loss(pred, target_series)
    D = losses.cost_matrix(target_series, pred)
    loss = loss + losses.soft_dtw(D, 0.1).sum() + losses.soft_alignment(D, 0.1).square().sum()
    loss.backward()
    metrics.evaluate(pred.detach(), target_series)


if __name__ == "__main__":
    before_warmup = {name: len(kernel.signatures) for name, kernel in kernels().items()}
    kernel_plan.warm(APP_GROUPS)
    the_app_warmed = signatures()
    the_apps_uses()
    compiled_by_the_app = compiled_since(the_app_warmed)
    dilate_core.warmup()
    warmed = signatures()
    every_loss(torch.float64)
    every_loss(torch.float32)
    the_apps_uses()
    print(
        json.dumps(
            {
                "compiled_before_warmup": sorted(name for name, n in before_warmup.items() if n),
                "compiled_by_the_app_after_its_groups": compiled_by_the_app,
                "not_compiled_by_warmup": sorted(
                    name for name, compiled in warmed.items() if not compiled and called_from_python(name)
                ),
                "compiled_after_warmup": compiled_since(warmed),
            }
        )
    )
