"""The shipped trained runs' test scores (assets/runs/): DTW and TDI per loss over every test series
and over those whose target has a step in the forecast window (the only ones with a timing to get
right), with DILATE's paired difference against each other loss across series (t-test and
Wilcoxon's signed-rank test).

    python -m bench.shipped_runs
"""

import numpy as np
from scipy import stats

from dilate_lab import paper, shipped
from dilate_lab.scores import tdi_zero_share, timed_series
from dilate_lab.settings import LOSS_LABELS


def table(run: shipped.PackedRun) -> str:
    """A markdown table of one packed run's DTW and TDI, all series and step-in-window series."""
    scores, timed = run.scores, timed_series(run.trainer.dataset)
    scales = paper.scales(run.config.dataset)
    zero = tdi_zero_share(scores)
    lines = [
        f"### {run.name}: {run.label()}",
        "",
        f"{len(timed)} test series, {int(timed.sum())} with a step in the forecast window.",
        "",
        "| metric | series | "
        + " | ".join(LOSS_LABELS[n] for n in scores)
        + " | DILATE - other: mean (t-test p, Wilcoxon p) |",
        "|---|---|" + "---|" * len(scores) + "---|",
    ]
    for metric in ("dtw", "tdi"):
        for subset, mask in (("all", np.ones_like(timed)), ("step in window", timed)):
            values = {name: s[metric][mask] * scales[metric] for name, s in scores.items()}
            means = " | ".join(f"{v.mean():.3g}" for v in values.values())
            tests = []
            for other in (n for n in values if n != "dilate"):
                difference = values["dilate"] - values[other]
                t_p = stats.ttest_rel(values["dilate"], values[other]).pvalue
                w_p = stats.wilcoxon(difference).pvalue if np.any(difference) else 1.0
                tests.append(f"{LOSS_LABELS[other]} {difference.mean():+.3g} ({t_p:.2g}, {w_p:.2g})")
            title = f"{paper.metric_title(metric, run.config.dataset)}"
            lines.append(f"| {title} | {subset} | {means} | {'; '.join(tests)} |")
    lines += ["", "TDI exactly 0: " + ", ".join(f"{LOSS_LABELS[n]} {share:.0%}" for n, share in zero.items()), ""]
    return "\n".join(lines)


def main() -> None:
    for name in shipped.available():
        print(table(shipped.load(shipped.SHIPPED / f"{name}.pt")))


if __name__ == "__main__":
    main()
