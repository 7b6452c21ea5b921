"""The DILATE paper's reported numbers and the scales it prints its metrics at.

Table 1 of Le Guen & Thome (NeurIPS 2019) ships as assets/paper_table1.csv (mean and std over
10 runs, as printed). It prints MSE x100, DTW x100 and TDI x10, except ECG5000's DTW row, which
is x10: the authors' own clarification (the TPAMI 2022 version, and the DILATE repository's
issue #13). Compare ours at the paper's scale, data set by data set. Tables 2 (ramp score and
Hausdorff distance, Seq2Seq) and 3 (DILATE_t, synthetic Seq2Seq) ship as
assets/paper_tables_2_3.csv; they print the synthetic ramp score x10 and the rest unscaled.
"""

import csv

from dilate_core.data import ASSETS

SCALES = {"mse": 100.0, "dtw": 100.0, "tdi": 10.0}  # as Table 1 prints them, but for ...
_SCALE_EXCEPTIONS = {"ecg5000": {"dtw": 10.0}}  # ... ECG5000's DTW row
EXTERNAL_SCALES = {"ramp": 1.0, "hausdorff": 1.0}  # as Tables 2 and 3 print them, but for ...
_EXTERNAL_EXCEPTIONS = {"synthetic": {"ramp": 10.0}}  # ... the synthetic ramp score


def scales(dataset: str) -> dict[str, float]:
    """metric -> the factor the paper multiplies it by for this data set."""
    return SCALES | _SCALE_EXCEPTIONS.get(dataset, {})


def external_scales(dataset: str) -> dict[str, float]:
    """metric -> the factor Tables 2 and 3 multiply the ramp score and Hausdorff distance by."""
    return EXTERNAL_SCALES | _EXTERNAL_EXCEPTIONS.get(dataset, {})


def scale_caption(dataset: str, external: bool = False) -> str:
    """'MSE ×100, DTW ×10, TDI ×10', the scales of a table of this data set (and of Table 2's metrics)."""
    factors = scales(dataset) | (external_scales(dataset) if external else {})
    return ", ".join(
        f"{metric.upper() if len(metric) == 3 else metric} ×{factor:g}" for metric, factor in factors.items()
    )


def table1(dataset: str, model: str) -> dict[tuple[str, str], tuple[float, float]]:
    """(metric, loss) -> (mean, std) of Table 1 at the paper's scale; empty if the paper has no such block."""
    with open(ASSETS / "paper_table1.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["dataset"] == dataset and r["model"] == model]
    return {(r["metric"], r["loss"]): (float(r["mean"]), float(r["std"])) for r in rows}


def reported(dataset: str, model: str) -> dict[tuple[str, str], tuple[float, float]]:
    """(metric, loss) -> (mean, std) over Tables 1, 2 and 3 at the paper's scale; empty if none."""
    with open(ASSETS / "paper_tables_2_3.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["dataset"] == dataset and r["model"] == model]
    return table1(dataset, model) | {(r["metric"], r["loss"]): (float(r["mean"]), float(r["std"])) for r in rows}
