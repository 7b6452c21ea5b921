"""A sweep's results as a reader takes them: summary.csv, summary.md and claims.csv next to its store.

Every value the paper reports is judged as the paper compares: Welch's two-sided t-test at 0.05
of ours (mean, std, runs) against the paper's mean ± std over its 10 runs; `consistent` when
p >= 0.05, else `differs` (ours higher or lower). The ramp score and the Hausdorff distance use
our own parameters (the paper's are in a supplementary that is not shipped), and a model trained
at other loss parameters than the paper's is not the paper's model: both are `not comparable`
and in no count. The paper's claims (CLAIMS) are judged between our own losses, run by run.
"""

import csv
import json
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dilate_core.metrics import CHANGE_PENALTY, RAMP_EPSILON
from dilate_lab import paper
from dilate_lab.settings import LOSS_LABELS, SETTINGS
from dilate_lab.sweep import stats
from dilate_lab.sweep.plan import Sweep

METRICS = tuple(paper.METRIC_LABELS)  # Table 1's, then Table 2's
PAPER_RUNS = 10  # every mean ± std of the paper's tables is over 10 runs
CONSISTENT, DIFFERS = "consistent", "differs"
JUDGED = (CONSISTENT, DIFFERS)  # the verdicts of the paper's test
NOT_COMPARABLE = "not comparable"  # our metric parameters, or a model trained at other loss parameters
OWN_PARAMETER_METRICS = ("ramp", "hausdorff")  # scored with our parameters: never judged against the paper's

PROTOCOL_TITLES = {
    "last": "weights after the last epoch",
    "best": "each model's weights from its lowest validation loss (the paper's early stopping)",
}


@dataclass
class Cell:
    """The results of one cell over its runs: per protocol, loss and metric, the values."""

    cell: dict
    runs: int  # runs done
    planned: int
    epochs: list[int]
    seconds: list[float]  # each run's wall time, as its host measured it
    values: dict[str, dict[str, dict[str, list[float]]]]  # protocol -> loss -> metric -> one per run
    by_run: dict[str, dict[str, dict[str, dict[int, float]]]] = field(default_factory=dict)  # ... -> run -> value
    versions: list[str] = field(default_factory=list)  # each run's code and packages (`versions_text`)

    @property
    def protocol(self) -> str | None:
        """The protocol it is judged by: best-validation weights where the runs kept them."""
        return "best" if "best" in self.values else next(iter(self.values), None)


def collect(sweep: Sweep, rows: Iterable[dict]) -> list[Cell]:
    """The done rows of this sweep's tasks, grouped by cell (other rows of the store are ignored)."""
    keys = {task.key for task in sweep.tasks()}
    cells = {json.dumps(cell, sort_keys=True): Cell(cell, 0, sweep.runs, [], [], {}) for cell in sweep.cells()}
    for row in rows:
        if row["key"] not in keys:
            continue
        entry = cells[json.dumps(row["cell"], sort_keys=True)]
        entry.runs += 1
        entry.epochs.append(row["result"]["epochs"])
        entry.seconds.append(row["result"]["seconds"])
        entry.versions.append(versions_text(row["result"]))
        for protocol, losses in row["result"]["metrics"].items():
            for loss, scores in losses.items():
                for metric, value in scores.items():
                    entry.values.setdefault(protocol, {}).setdefault(loss, {}).setdefault(metric, []).append(value)
                    runs = entry.by_run.setdefault(protocol, {}).setdefault(loss, {}).setdefault(metric, {})
                    runs[row["run"]] = value
    return list(cells.values())


mean_std = stats.mean_std
UNKNOWN = "unknown"  # the code and packages of a run stored before they were recorded


def versions_text(result: dict) -> str:
    """'code 0123abcd4567, torch 2.5.1, numpy 2.1.3, numba 0.60.0' of a stored run's result, or UNKNOWN."""
    if "code" not in result:
        return UNKNOWN
    packages = ", ".join(f"{name} {version}" for name, version in sorted(result.get("packages", {}).items()))
    return f"code {result['code']}" + (f", {packages}" if packages else "")


def versions_line(cells: list[Cell]) -> str:
    """Which code and packages the runs came from: each distinct one with its number of runs."""
    counts = {}
    for entry in cells:
        for text in entry.versions:
            counts[text] = counts.get(text, 0) + 1
    if not counts:
        return ""
    parts = [
        f"{text} ({count} runs)"
        if text != UNKNOWN
        else f"{UNKNOWN} for {count} runs (stored before runs recorded them)"
        for text, count in counts.items()
    ]
    return "Code and packages of the runs: " + "; ".join(parts) + "."


def verdict(ours: tuple[float, float, int], reported: tuple[float, float]) -> tuple[str, float, str]:
    """(verdict, p-value, direction) of ours (mean, std, runs) against the paper's (mean, std)
    over its 10 runs: Welch's two-sided t-test; direction 'higher' or 'lower' where it differs."""
    p_value = stats.welch(ours, (*reported, PAPER_RUNS))
    if p_value >= stats.ALPHA:
        return CONSISTENT, p_value, ""
    return DIFFERS, p_value, "higher" if ours[0] > reported[0] else "lower"


def comparable(loss: str, settings: dict) -> bool:
    """Whether a model trained with `loss` under `settings` had the loss parameters of the
    paper's tables (paper.PAPER_LOSS_PARAMETERS), those its loss reads."""
    return all(
        math.isclose(settings.get(name, SETTINGS[name].default), paper.PAPER_LOSS_PARAMETERS[name])
        for name in paper.parameters_read(loss)
    )


def paper_model(loss: str, settings: dict) -> bool:
    """Whether the paper trained this model: its loss parameters (`comparable`) and no MSE warm-up.
    Only such a model's values stand beside the paper's as if they were the same experiment."""
    return comparable(loss, settings) and not settings.get("mse_warmup", SETTINGS["mse_warmup"].default)


def summary_rows(sweep: Sweep, cells: list[Cell]) -> list[dict]:
    """One row per cell, protocol, loss and metric: mean ± std over its runs, beside the paper's,
    with the paper's test where the value can be compared (see the module's docstring)."""
    rows = []
    for entry in cells:
        settings = sweep.settings | entry.cell
        dataset = sweep.setting("dataset", entry.cell)
        reported = paper.reported(dataset, sweep.setting("model", entry.cell))
        for protocol, losses in entry.values.items():
            for loss, metrics in losses.items():
                for metric, values in metrics.items():
                    mean, std = mean_std(values)
                    row = {**entry.cell, "protocol": protocol, "loss": loss, "metric": metric}
                    scale = paper.scales(dataset, external=True)[metric]
                    row |= {"scale": scale, "runs": len(values), "mean": mean, "std": std}
                    paper_value = reported.get((metric, loss))
                    judged, p_value, direction = "", None, ""
                    if paper_value and (metric in OWN_PARAMETER_METRICS or not comparable(loss, settings)):
                        judged = NOT_COMPARABLE
                    elif paper_value and len(values) > 1:
                        judged, p_value, direction = verdict((mean, std, len(values)), paper_value)
                    row |= {
                        "paper_mean": paper_value[0] if paper_value else None,
                        "paper_std": paper_value[1] if paper_value else None,
                        "p_value": p_value,
                        "verdict": judged,
                        "direction": direction,
                    }
                    rows.append(row)
    return rows


@dataclass(frozen=True)
class Claim:
    """One of the paper's claims, as a comparison of two losses on one metric (lower is better)."""

    name: str
    loss: str  # the loss the claim is about
    other: str  # the loss it is compared with
    metric: str
    equivalent: (
        bool  # 'equivalent' as the paper words it (not significantly worse), else 'better' (significantly lower)
    )
    table: str  # the paper's table the claim is read from
    sentence: str

    @property
    def short(self) -> str:
        """'TDI: DILATE < MSE', a column header: the metric, then the claim's order of the two losses."""
        relation = "≈" if self.equivalent else "<"
        return f"{paper.METRIC_LABELS[self.metric]}: {LOSS_LABELS[self.loss]} {relation} {LOSS_LABELS[self.other]}"

    def text(self) -> str:
        relation = "equivalent to" if self.equivalent else "better than"
        return f"{LOSS_LABELS[self.loss]} {relation} {LOSS_LABELS[self.other]} on {paper.METRIC_LABELS[self.metric]}"


CLAIMS = (
    Claim("dilate_mse_on_mse", "dilate", "mse", "mse", True, "1", "DILATE is equivalent to the MSE loss on MSE."),
    Claim("dilate_mse_on_dtw", "dilate", "mse", "dtw", False, "1", "DILATE forecasts the shape better than MSE."),
    Claim("dilate_mse_on_tdi", "dilate", "mse", "tdi", False, "1", "DILATE forecasts the timing better than MSE."),
    Claim("dilate_soft_dtw_on_tdi", "dilate", "soft_dtw", "tdi", False, "1", "DILATE's temporal term gets the timing."),
    Claim("dilate_soft_dtw_on_mse", "dilate", "soft_dtw", "mse", False, "1", "DILATE beats soft-DTW on MSE too."),
    # Table 2: our ramp and Hausdorff parameters are not the paper's, so only the losses' order is compared
    Claim("dilate_mse_on_hausdorff", "dilate", "mse", "hausdorff", False, "2", "DILATE's change points are closer."),
    Claim("dilate_mse_on_ramp", "dilate", "mse", "ramp", False, "2", "DILATE forecasts the ramps better than MSE."),
    # Table 3: DILATE's separate temporal term against the tangled DILATE_t
    Claim("dilate_tw_on_tdi", "dilate", "dilate_t_weighted", "tdi", False, "3", "Separate terms time better."),
    Claim("dilate_tbc_on_tdi", "dilate", "dilate_t_band", "tdi", False, "3", "Separate terms time better."),
    Claim("dilate_tw_on_hausdorff", "dilate", "dilate_t_weighted", "hausdorff", False, "3", "Closer change points."),
    Claim("dilate_tbc_on_hausdorff", "dilate", "dilate_t_band", "hausdorff", False, "3", "Closer change points."),
)
CLAIM_BY_NAME = {claim.name: claim for claim in CLAIMS}
FULL_RUNS = PAPER_RUNS  # a verdict needs as many paired runs as the paper's; fewer give INDICATIVE
CLAIM_COLUMNS = [
    "experiment", "table", "dataset", "model", "claim", "ours", "runs", "effect", "ci_low", "ci_high",
    "p_value", "p_holm", "wilcoxon_p", "holds", "paper_p", "paper_holds", "reproduces", "superseded_by", "note",
]  # fmt: skip
YES, NO, INCONCLUSIVE, INDICATIVE = "yes", "no", "inconclusive", "indicative"


def decide(claim: Claim, p_value: float, difference: float) -> str:
    """A claim's verdict from its test's p-value and the mean difference (claim's loss - other's):
    'yes' significantly in the paper's direction (for 'equivalent': not significantly worse),
    'no' significantly against it, else 'inconclusive'."""
    significant = p_value < stats.ALPHA
    if significant and difference > 0:
        return NO
    if (significant and difference < 0) or claim.equivalent:
        return YES
    return INCONCLUSIVE


def judge_claim(claim: Claim, pairs: list[tuple[float, float]]) -> tuple[str, float, float]:
    """(holds, p-value, mean difference) of a claim from per-run (claim's loss, other loss) values
    of its metric, by the paired t-test at 0.05 over at least 2 runs, uncorrected (see `judged`)."""
    differences = [ours - other for ours, other in pairs]
    p_value = stats.paired(differences)
    difference = sum(differences) / len(differences)
    return decide(claim, p_value, difference), p_value, difference


def paper_claims(table: str) -> dict[tuple[str, str, str], tuple[float, float, str]]:
    """(dataset, model, claim) -> (p, Holm's p, verdict) of each claim of Table `table` on the paper's
    own values: Welch's two-sided t-test between its two losses' mean ± std over 10 runs each, Holm's
    correction over every such claim of that table (all its data sets and models)."""
    found = {}
    for dataset, model in paper.paper_blocks(table):
        reported = paper.reported(dataset, model)
        for claim in CLAIMS:
            ours, other = reported.get((claim.metric, claim.loss)), reported.get((claim.metric, claim.other))
            if claim.table == table and ours and other:
                p_value = stats.welch((*ours, PAPER_RUNS), (*other, PAPER_RUNS))
                found[(dataset, model, claim.name)] = (p_value, ours[0] - other[0])
    adjusted = stats.holm([p for p, _ in found.values()])
    return {
        key: (p_value, p_holm, decide(CLAIM_BY_NAME[key[2]], p_holm, difference))
        for (key, (p_value, difference)), p_holm in zip(found.items(), adjusted, strict=True)
    }


def cell_name(sweep: Sweep, cell: dict) -> str:
    """'seq2seq' or 'seq2seq, lr 0.001': the model and the grid's other values of a cell."""
    others = ", ".join(
        f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"
        for name, value in cell.items()
        if name != "model"
    )
    return sweep.setting("model", cell) + (f", {others}" if others else "")


def off_protocol(sweep: Sweep, cell: dict, claim: Claim) -> str:
    """Why a cell's models are not the paper's for this claim ('' if they are): an MSE warm-up, or
    loss parameters other than the paper's."""
    settings = sweep.settings | cell
    if settings.get("mse_warmup", SETTINGS["mse_warmup"].default):
        return "after an MSE warm-up: not the paper's model, no verdict"
    if not (comparable(claim.loss, settings) and comparable(claim.other, settings)):
        return f"not at {paper.loss_parameters_text()}: not the paper's model, no verdict"
    return ""


def claim_rows(sweep: Sweep, cells: list[Cell], experiment: str, table: str | None = None) -> list[dict]:
    """Every claim a cell's losses allow (Table 2's and 3's only where the paper reports the block),
    on the runs that trained both, with the cell's judging protocol (best-validation weights where
    kept): the paired mean difference and its 95% t interval, the paired t-test's and Wilcoxon's
    p-values, and the paper's own verdict on its values. Cells of fewer than 2 such runs are left out.
    `holds` is uncorrected here; `judged` corrects a table's claims together."""
    rows = []
    for entry in cells:
        protocol = entry.protocol
        losses = entry.by_run.get(protocol, {})
        dataset, model = sweep.setting("dataset", entry.cell), sweep.setting("model", entry.cell)
        for claim in CLAIMS:
            if claim.loss not in losses or claim.other not in losses:
                continue
            reported_by_paper = table and (dataset, model) in paper.paper_blocks(claim.table)
            if claim.table != "1" and not reported_by_paper:
                continue  # Tables 2 and 3 exist for the paper's blocks only
            ours, other = losses[claim.loss].get(claim.metric, {}), losses[claim.other].get(claim.metric, {})
            runs = sorted(set(ours) & set(other))
            if len(runs) < 2:
                continue
            differences = [ours[r] - other[r] for r in runs]
            holds, p_value, difference = judge_claim(claim, [(ours[r], other[r]) for r in runs])
            effect, low, high = stats.paired_interval(differences)
            mean_ours, mean_other = (sum(v[r] for r in runs) / len(runs) for v in (ours, other))
            text = (
                f"{LOSS_LABELS[claim.loss]} {mean_ours:.3g} vs {LOSS_LABELS[claim.other]} {mean_other:.3g} "
                f"({paper.metric_title(claim.metric, dataset)}, mean difference {difference:+.3g} over {len(runs)} "
                "paired runs)"
            )
            notes = [off_protocol(sweep, entry.cell, claim)]
            if len(runs) >= 3:  # one run that alone makes the t-test significant, or not
                flips = {stats.paired(differences[:i] + differences[i + 1 :]) < stats.ALPHA for i in range(len(runs))}
                if len(flips) > 1 or flips != {p_value < stats.ALPHA}:
                    notes.append("one run drives the t-test: see Wilcoxon's p")
            if claim.metric in OWN_PARAMETER_METRICS:
                notes.append("our metric parameters: the order of the losses, not their values")
            paper_p, paper_holds = "", ""
            if table and not notes[0]:
                found = paper_claims(claim.table).get((dataset, model, claim.name))
                if found:
                    paper_p, paper_holds = f"{found[1]:.3g}", found[2]
            rows.append(
                {
                    "experiment": experiment, "table": claim.table if table else "", "dataset": dataset,
                    "model": cell_name(sweep, entry.cell), "claim": claim.name, "ours": text, "runs": len(runs),
                    "effect": f"{effect:.4g}", "ci_low": f"{low:.4g}", "ci_high": f"{high:.4g}",
                    "p_value": f"{p_value:.3g}", "p_holm": "", "wilcoxon_p": f"{stats.wilcoxon(differences):.3g}",
                    "holds": holds, "paper_p": paper_p, "paper_holds": paper_holds, "reproduces": "",
                    "superseded_by": "", "note": "; ".join(n for n in notes if n),
                }
            )  # fmt: skip
    return judged(rows)


def judged(rows: list[dict]) -> list[dict]:
    """The rows with their verdicts: Holm's correction over the claims of one table (or, outside the
    paper's tables, of one experiment) that have a verdict; `yes`/`no` only from FULL_RUNS paired runs
    of the paper's models (fewer: INDICATIVE, never counted; not the paper's model: none); and
    `reproduces` where the paper's own verdict is known."""
    family = {}
    for row in rows:
        row["p_holm"] = ""
        if row["note"].startswith(("after an MSE warm-up", "not at ")) or row["superseded_by"]:
            row["holds"], row["reproduces"] = "", ""
            continue
        if int(row["runs"]) < FULL_RUNS:
            row["holds"], row["reproduces"] = INDICATIVE, ""
            continue
        family.setdefault(row["table"] or row["experiment"], []).append(row)
    for members in family.values():
        for row, p_holm in zip(members, stats.holm([float(r["p_value"]) for r in members]), strict=True):
            row["p_holm"] = f"{p_holm:.3g}"
            row["holds"] = decide(CLAIM_BY_NAME[row["claim"]], p_holm, float(row["effect"]))
            row["reproduces"] = ("yes" if row["holds"] == row["paper_holds"] else "no") if row["paper_holds"] else ""
    return rows


def write_claims(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, CLAIM_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _experiment_claims(experiment: paper.Experiment) -> tuple[list[dict], dict[str, set[str]]]:
    """An experiment's claim rows from its store, and each cell's done task keys (by cell name)."""
    from dilate_lab.sweep.store import Store  # the store imports this module's neighbours

    sweep = Sweep.from_file(experiment.sweep_file)[0]
    store = Store(experiment.results)  # re-keys rows stored before a setting existed
    try:
        stored = store.rows()
    finally:
        store.close()
    cells = collect(sweep, stored)
    keys = {}
    for row in stored:
        keys.setdefault(cell_name(sweep, row["cell"]), set()).add(row["key"])
    return claim_rows(sweep, cells, experiment.name, experiment.table), keys


def write_claims_index(results) -> Path:
    """results/claims.csv, every experiment's claims in one table (paper.EXPERIMENTS' order), judged
    together (`judged`: Holm's correction over the claims of one table), and each experiment's
    claims.csv as its part of it. A cell whose runs are all in another experiment's cell with more runs
    is `superseded_by` that one: shown, never judged."""
    results = Path(results)
    rows, keys = [], {}
    for experiment in paper.EXPERIMENTS:
        if (results / experiment.name / "sweep.sqlite").exists() and experiment.sweep_file.exists():
            found, cell_keys = _experiment_claims(experiment)
            rows += found
            keys |= {(experiment.name, cell): done for cell, done in cell_keys.items()}
    for row in rows:
        mine = keys.get((row["experiment"], row["model"]), set())
        longer = [name for (name, _), done in keys.items() if name != row["experiment"] and mine < done]
        row["superseded_by"] = longer[0] if mine and longer else ""
    rows = judged(rows)
    for experiment in paper.EXPERIMENTS:
        if (results / experiment.name / "claims.csv").exists() or any(r["experiment"] == experiment.name for r in rows):
            write_claims(
                results / experiment.name / "claims.csv", [r for r in rows if r["experiment"] == experiment.name]
            )
    write_claims(results / "claims.csv", rows)
    return results / "claims.csv"


def write_summary(sweep: Sweep, store, command: str | None = None) -> Path:
    """summary.csv, summary.md and claims.csv next to the store, from the runs done so far (they
    say how many); in the project's results folder, results/claims.csv too."""
    cells = collect(sweep, store.rows())
    rows = summary_rows(sweep, cells)
    folder = store.folder
    csv_path, md_path = folder / "summary.csv", folder / "summary.md"
    columns = [*sweep.grid, "protocol", "loss", "metric", "scale", "runs", "mean", "std"]
    columns += ["paper_mean", "paper_std", "p_value", "verdict", "direction"]
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows([{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows])
    failed = [row for row in store.rows("failed") if row["key"] in {task.key for task in sweep.tasks()}]
    md_path.write_text(summary_markdown(sweep, cells, rows, command, failed))
    claims = claim_rows(sweep, cells, folder.name)
    if claims or (folder / "claims.csv").exists():
        write_claims(folder / "claims.csv", claims)
    if folder.resolve().parent == paper.RESULTS.resolve():
        write_claims_index(paper.RESULTS)
    return md_path


def duration_text(seconds: float) -> str:
    """A wall time as people read it: '42 s', '7.5 min', '3 h 05 min'."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def judged_count(rows: list[dict], cells: list[Cell]) -> tuple[int, int]:
    """(consistent, judged) over the values of the paper each cell is judged by (its protocol)."""
    protocols = {json.dumps(entry.cell, sort_keys=True): entry.protocol for entry in cells}
    judged = [
        row["verdict"]
        for row in rows
        if row["verdict"] in JUDGED
        and row["protocol"] == protocols[json.dumps({k: row[k] for k in cells[0].cell}, sort_keys=True)]
    ]
    return judged.count(CONSISTENT), len(judged)


def value_text(row: dict, runs: int) -> str:
    """'1.25 ± 0.22 (paper 1.1 ± 0.17, p = 0.1, consistent)': a table cell of summary.md."""
    text = f"{row['mean']:.3g} ± {row['std']:.2g}"
    if row["runs"] != runs:
        text += f" ({row['runs']} runs)"
    if row["paper_mean"] is None:
        return text
    paper_text = f"{row['paper_mean']:.3g} ± {row['paper_std']:.2g}"
    if row["verdict"] == NOT_COMPARABLE:
        why = "our parameters" if row["metric"] in OWN_PARAMETER_METRICS else f"at {paper.loss_parameters_text()}"
        return text + f" (paper {paper_text}; not comparable: {why})"
    if row["verdict"] in JUDGED:
        said = row["verdict"] + (f", ours {row['direction']}" if row["direction"] else "")
        return text + f" (paper {paper_text}, p = {row['p_value']:.2g}, {said})"
    return text + f" (paper {paper_text})"


def _table(entry: Cell, protocol: str, rows: list[dict], dataset: str) -> list[str]:
    losses = entry.values[protocol]
    caption = paper.scale_caption(dataset, external=True)
    lines = ["", f"Test metrics ({caption}), {PROTOCOL_TITLES[protocol]}:", ""]
    lines += ["| metric | " + " | ".join(LOSS_LABELS[loss] for loss in losses) + " |"]
    lines += ["|---|" + "---|" * len(losses)]
    mine = [r for r in rows if r["protocol"] == protocol and all(r[k] == v for k, v in entry.cell.items())]
    for metric in [m for m in METRICS if any(m in scores for scores in losses.values())]:
        texts = []
        for loss in losses:
            row = next((r for r in mine if r["loss"] == loss and r["metric"] == metric), None)
            texts.append(value_text(row, entry.runs) if row else "")  # a metric older runs did not store
        lines.append(f"| {paper.METRIC_LABELS[metric]} | " + " | ".join(texts) + " |")
    return lines


def summary_markdown(
    sweep: Sweep, cells: list[Cell], rows: list[dict], command: str | None = None, failed: list[dict] = ()
) -> str:
    done = sum(entry.runs for entry in cells)
    seconds = [value for entry in cells for value in entry.seconds]
    consistent, judged = judged_count(rows, cells) if cells else (0, 0)
    other_parameters = any(r["verdict"] == NOT_COMPARABLE and r["metric"] not in OWN_PARAMETER_METRICS for r in rows)
    epochs, patience = sweep.setting("epochs"), sweep.setting("patience")
    lines = [
        f"# Sweep: {done} of {len(cells) * sweep.runs} runs done",
        "",
        *([f"Command: `{command}`", ""] if command else []),
        *(
            [f"Training time of the runs done: {duration_text(sum(seconds))} (the sum of their wall times).", ""]
            if seconds
            else []
        ),
        *(
            [f"Failed runs: {len(failed)} (their tracebacks at the end; the next run of the sweep retries them).", ""]
            if failed
            else []
        ),
        *(
            [
                f"Consistent with the paper (Welch's t-test, p ≥ {stats.ALPHA:g}): {consistent} of {judged} "
                "MSE, DTW and TDI values it reports, with each model's best-validation weights where kept.",
                "",
            ]
            if judged
            else ["No value of the paper to judge against (or a single run per cell).", ""]
        ),
        *(
            [
                f"Models trained at other loss parameters than the paper's ({paper.loss_parameters_text()}) show its "
                "values beside theirs, not comparable and in no count.",
                "",
            ]
            if other_parameters
            else []
        ),
        *([versions_line(cells), ""] if versions_line(cells) else []),
        f"Fixed settings: `{json.dumps(sweep.settings, sort_keys=True)}`; grid: `{json.dumps(sweep.grid)}`.",
        f"Up to {epochs} epochs per run"
        + (f", early stopping after {patience} evaluations without a lower validation loss." if patience else "."),
        "Mean ± std over the runs done; the paper's Tables 1-3 beside where they have the cell, judged as the paper "
        f"compares: Welch's two-sided t-test of ours against its mean ± std over {PAPER_RUNS} runs, consistent "
        f"when p ≥ {stats.ALPHA:g}, else differs (ours higher or lower).",
        "The ramp score and the Hausdorff distance use our documented parameters (dilate_core.metrics:",
        f"swinging-door half-width {RAMP_EPSILON}, the score divided by the duration; ruptures' L2",
        f"change points with penalty {CHANGE_PENALTY}); the paper's own are in a supplementary that",
        "is not shipped, so they are not comparable, in no count: compare how the losses rank on them.",
        "",
    ]
    for entry in cells:
        dataset = sweep.setting("dataset", entry.cell)
        name = ", ".join(f"{k} = {v}" for k, v in entry.cell.items()) or "the only cell"
        trained = f"{min(entry.epochs)}–{max(entry.epochs)}" if entry.epochs else "no"
        per_run = (
            f" in {duration_text(min(entry.seconds))}–{duration_text(max(entry.seconds))} each" if entry.seconds else ""
        )
        cell_consistent, cell_judged = judged_count(
            [r for r in rows if all(r[k] == v for k, v in entry.cell.items())], [entry]
        )
        count = f" Consistent with the paper: {cell_consistent} of {cell_judged}." if cell_judged else ""
        lines += [
            f"## {name}",
            "",
            f"{entry.runs} of {entry.planned} runs done{per_run}; {trained} epochs trained.{count}",
        ]
        if entry.protocol:
            lines += _table(entry, entry.protocol, rows, dataset)
        for protocol in entry.values:
            if protocol != entry.protocol and entry.values[protocol] != entry.values[entry.protocol]:
                lines += _table(entry, protocol, rows, dataset)
        lines.append("")
    if failed:
        lines += ["## Failed runs", ""]
        for row in failed:
            message = (row["error"] or "").strip().splitlines() or ["(no message)"]
            lines += [f"- {row['cell']}, run {row['run']}: {message[-1]}", "", "```", *message, "```", ""]
    return "\n".join(lines)


def pace(rows: Iterable[dict]) -> tuple[float, float] | None:
    """(seconds per epoch, epoch of DILATE's best validation loss or, without DILATE, of the
    latest best loss), each the median over a store's done rows; None without rows. What a
    small version of the sweep can afford, and how many epochs its effect needs."""
    per_epoch, best = [], []
    for row in rows:
        result = row["result"]
        per_epoch.append(result["seconds"] / max(1, result["epochs"]))
        epochs = result.get("best_epochs") or {}
        if epochs:
            best.append(epochs.get("dilate", max(epochs.values())))
    if not per_epoch:
        return None
    return statistics.median(per_epoch), statistics.median(best) if best else 0.0


def stopping(rows: Iterable[dict], loss: str, model: str, late: int = 100) -> tuple[int, int, int]:
    """(runs, runs whose best validation epoch of `loss` is in the last `late` epochs of the epoch
    budget, runs of it stopped early by the patience rule) over a store's done rows of `model`: whether
    a run was still improving when it ended."""
    runs = late_best = stopped = 0
    for row in rows:
        config, result = row["config"], row["result"]
        if config["model"] != model or loss not in result.get("best_epochs", {}):
            continue
        runs += 1
        late_best += result["best_epochs"][loss] >= config["epochs"] - late
        stopped += result.get("stopped", {}).get(loss, config["epochs"]) < config["epochs"]
    return runs, late_best, stopped
