"""Paper: the paper's claims at a glance, then every table and figure of its evaluation, ours beside
the paper's as pictures (the numbers one click away), from the committed sweep results; and a small
version of any of them to watch live, under its button."""

import pandas as pd
import streamlit as st

from dilate_lab import paper
from dilate_lab.settings import LOSS_LABELS
from dilate_lab.sources import SOURCES
from dilate_lab.sweep import CLAIM_BY_NAME, Sweep, pace, paper_model, reduced, spread, stored_rows
from dilate_lab.sweep.summary import FULL_RUNS, OWN_PARAMETER_METRICS, stopping
from dilate_lab.train import Config
from explorer import charts_paper, cost, keys, loaders, server
from explorer.frame import require_app_frame
from explorer.jobs import DONE, FINAL_STATES
from explorer.limits import LimitError

require_app_frame()

SMALL_SECONDS = 40  # a small version's budget per seed, from the full runs' pace on this machine
SMALL_CELLS = {"figure5b_alpha": 3}  # cells of the grid a small version keeps: Figure 5(b) needs several alphas
HOLDS = {"yes": "✓", "no": "✗", "inconclusive": "?", "indicative": "~"}
MODEL_LABELS = {"seq2seq": "Seq2Seq", "mlp": "MLP"}

st.title("The paper, reproduced")
st.markdown(
    "Each experiment of the paper's evaluation is a sweep file under `sweeps/`, run through "
    "`python -m dilate_lab sweep` (locally or on a Ray cluster); its committed results are below. Ours are judged "
    "against the paper's values as the paper compares: **Welch's two-sided t-test at 0.05** of our mean ± std over "
    "our runs against its mean ± std over its 10 runs, *consistent* when p ≥ 0.05, else *differs*. The ramp score "
    "and the Hausdorff distance use our own parameters (the paper's are in a supplementary that is not shipped), "
    f"and a model trained at other loss parameters than the paper's ({paper.loss_parameters_text()}) is not the "
    "paper's model: both are *not comparable* and in no count. Results say how many runs they hold."
)


def experiment_dataset(experiment: paper.Experiment) -> str:
    return Sweep.from_file(experiment.sweep_file)[0].setting("dataset")


def read_claims() -> pd.DataFrame:
    return pd.read_csv(paper.CLAIMS_CSV, dtype=str, keep_default_na=False) if paper.CLAIMS_CSV.exists() else None


def claim_words(name: str) -> str:
    """'TDI: DILATE < MSE', with our own ramp and Hausdorff parameters said."""
    claim = CLAIM_BY_NAME[name]
    return claim.short + (" (ranked)" if claim.metric in OWN_PARAMETER_METRICS else "")


def verdict_table(rows: pd.DataFrame, with_paper: bool) -> str:
    """A markdown table, one row per claim and, per model, our verdict (and the paper's): narrow
    enough to read on a phone without scrolling sideways."""
    models = list(dict.fromkeys(rows["model"]))
    header = ["claim"]
    for model in models:
        header += [f"{MODEL_LABELS.get(model, model)}: ours"] + (
            [f"{MODEL_LABELS.get(model, model)}: paper"] * with_paper
        )
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for name in dict.fromkeys(rows["claim"]):
        cells = [claim_words(name)]
        for model in models:
            found = rows[(rows["model"] == model) & (rows["claim"] == name)]
            row = found.iloc[0] if len(found) else None
            cells.append(HOLDS.get(row["holds"], "–") if row is not None else "–")
            if with_paper:
                cells.append(HOLDS.get(row["paper_holds"], "–") if row is not None else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def glance_sentence(label: str, rows: pd.DataFrame) -> str:
    """'Synthetic steps: DTW and TDI reproduce; ...': which claims of a data set reproduce (our
    verdict equals the paper's own on its values), for which models, from the verdicts."""
    reproduced, differ, open_ = [], [], []
    for name in dict.fromkeys(rows["claim"]):
        mine = rows[rows["claim"] == name]
        models = {
            value: [MODEL_LABELS.get(m, m) for m in mine[mine["reproduces"] == value]["model"]]
            for value in ("yes", "no")
        }
        words = claim_words(name)
        if models["yes"]:
            reproduced.append(words + ("" if not models["no"] else f" ({' and '.join(models['yes'])})"))
        if models["no"]:
            differ.append(words + ("" if not models["yes"] else f" ({' and '.join(models['no'])})"))
        if not models["yes"] and not models["no"]:
            open_.append(words)
    parts = []
    if reproduced:
        parts.append(f"{', '.join(reproduced)} reproduce{'s' if len(reproduced) == 1 else ''}")
    if differ:
        parts.append(f"{', '.join(differ)} do{'es' if len(differ) == 1 else ''} not")
    if open_:
        parts.append(f"{', '.join(open_)}: fewer than {FULL_RUNS} runs, indicative only")
    return f"**{label}**: " + ("; ".join(parts) or "nothing judged yet") + "."


def claims_section() -> None:
    st.header("The paper's claims at a glance", anchor="claims")
    st.markdown(f"**The paper's claims** (its section 4.2): {paper.CLAIMS_SENTENCE}")
    claims = read_claims()
    if claims is None:
        st.info("No claims judged yet: they come with the sweeps' summaries.")
        return
    st.markdown(
        "Each claim is judged twice, by the same rule: **ours** on our runs (each run trains every loss from the same "
        "seed on the same batches: the paired t-test over them), **the paper's** on its own Table values (Welch's "
        "t-test of its two means ± std over 10 runs each). Both at 0.05 after Holm's correction over the claims of "
        "one table. **✓** significantly in the claim's direction (for *equivalent*: not significantly worse), **✗** "
        "significantly against it, **?** neither, **~** indicative: fewer than "
        f"{FULL_RUNS} paired runs, never counted. A claim **reproduces** where our verdict equals the paper's own. "
        "Ramp score and Hausdorff use our parameters, not the paper's: only the order of the losses is compared."
    )
    shown = claims[(claims["table"] != "") & (claims["superseded_by"] == "")]
    for dataset in dict.fromkeys(shown["dataset"]):
        rows = shown[shown["dataset"] == dataset]
        st.markdown(glance_sentence(SOURCES[dataset].label, rows))
        st.markdown(verdict_table(rows, with_paper=True))
    st.subheader("ETTh1: not in the paper; stands in for Traffic", anchor="etth1")
    etth1 = claims[claims["experiment"] == "etth1"]
    st.markdown(
        "The paper's Traffic data cannot ship; ETTh1 stands in for it. The paper has no values here, so these are our "
        "verdicts alone and none counts for or against the paper. It ran at alpha 0.5, untuned: the paper chooses "
        "alpha on validation (0.8 for Traffic); a run with alpha chosen so is still to do."
    )
    if len(etth1):
        st.markdown(verdict_table(etth1, with_paper=False))
    with st.expander("Each claim's numbers: effect, 95% interval, p-values"):
        st.markdown(
            "effect: our mean paired difference (the claim's loss minus the other, at the paper's scale; below 0 "
            "favours DILATE) and its 95% t interval; p: the paired t-test, then after Holm; Wilcoxon: the signed-rank "
            "test, robust to a single run that drives the t-test. Rows without a verdict: models the paper did not "
            "train (an MSE warm-up, another gamma), shown for reference; a store whose runs a longer one holds is "
            "marked superseded."
        )
        st.dataframe(claim_numbers(claims), hide_index=True)


def claim_numbers(claims: pd.DataFrame) -> pd.DataFrame:
    titles = {e.name: e.title for e in paper.EXPERIMENTS}
    return pd.DataFrame(
        {
            "experiment": claims["experiment"].map(titles),
            "model": claims["model"],
            "claim": claims["claim"].map(claim_words),
            "runs": claims["runs"],
            "ours": claims["holds"].map(lambda h: HOLDS.get(h, "no verdict")),
            "paper": claims["paper_holds"].map(lambda h: HOLDS.get(h, "")),
            "reproduces": claims["reproduces"],
            "effect [95% interval]": [
                f"{e} [{lo}, {hi}]"
                for e, lo, hi in zip(claims["effect"], claims["ci_low"], claims["ci_high"], strict=True)
            ],
            "p": claims["p_value"],
            "p (Holm)": claims["p_holm"],
            "Wilcoxon p": claims["wilcoxon_p"],
            "values": claims["ours"],
            "note": [
                " ".join(filter(None, (n, f"superseded by {s}" if s else "")))
                for n, s in zip(claims["note"], claims["superseded_by"], strict=True)
            ],
        }
    )


def published_rows() -> pd.DataFrame | None:
    if not paper.PUBLISHED_CSV.exists():
        return None
    rows = pd.read_csv(paper.PUBLISHED_CSV)
    return rows[rows["protocol"] == "best"]


def ecg_section() -> None:
    st.header("ECG5000: what reproduces, and what is still open")
    claims = read_claims()
    claims = claims if claims is not None else pd.DataFrame(columns=["experiment", "model", "claim", "holds"])

    def holds(experiment: str, claim: str) -> str:
        found = claims[(claims["experiment"] == experiment) & (claims["claim"] == claim)]
        return (
            ", ".join(f"{m} {HOLDS.get(h, 'no verdict')}" for m, h in zip(found["model"], found["holds"], strict=True))
            or "not run"
        )

    runs, late, stopped = stopping(stored_rows(paper.RESULTS / "table1_ecg5000"), "dilate", "seq2seq")
    published = published_rows()
    published_text = (
        f"{published['seed'].nunique()} seeds × {', '.join(str(e) for e in sorted(set(published['epochs'])))} epochs"
        if published is not None
        else "not run"
    )
    st.markdown(
        "**What is known.** Under the paper's protocol as we run it, DILATE does not beat the MSE loss on ECG5000 "
        f"(TDI: {holds('table1_ecg5000', 'dilate_mse_on_tdi')}; DTW: {holds('table1_ecg5000', 'dilate_mse_on_dtw')}), "
        "while its own Table 1 reports it does on TDI. Our DILATE Seq2Seq runs learn slowly: in "
        f"{late} of {runs} runs its best validation loss came in the last 100 epochs of 1000, and {stopped} of {runs} "
        "were stopped by our patience rule (100 epochs without a lower validation loss; the paper states none), some "
        "while still near the flat forecast a fresh model makes. So *slow, and cut short by early stopping* fits the "
        "runs as well as *stalls*. The authors' published code, run from its checkout with our data split "
        f"(`python -m bench.ecg_published`), has {published_text} only: too short to settle either (its MSE model "
        "is not converged there). After an MSE warm-up (not in the paper, no verdict) DILATE's TDI comes near the "
        "MSE loss's, no better.\n\n"
        "**What is pending.** The published code at the paper's protocol (up to 1000 epochs, 3 seeds or more), and "
        "ours with no patience (best validation over 1000 epochs, 10 runs). Until then the page does not say why "
        "ECG5000 differs: a flat-start measurement (`python -m bench.ecg_flat_start`) found the shape and temporal "
        "gradients often opposed at a flat forecast, the temporal one often several times larger, which is a "
        "possible mechanism, not an established one."
    )
    if published is None:
        st.info(
            "The published code's runs are not here yet: `DILATE_PUBLISHED=<checkout> python -m bench.ecg_published`."
        )
        return
    summary = pd.read_csv(paper.RESULTS / "table1_ecg5000" / "summary.csv")
    ours = summary[(summary["model"] == "seq2seq") & (summary["protocol"] == "best")]
    rows = []
    for loss in ("mse", "dilate"):
        for _, run in published[published["loss"] == loss].iterrows():
            rows.append(
                {"code": "published", "loss": LOSS_LABELS[loss], "runs": f"seed {run['seed']}, {run['epochs']} epochs"}
                | {paper.metric_title(m, "ecg5000"): f"{run[m]:.3g}" for m in paper.TABLE1_METRICS}
            )
        mine = ours[ours["loss"] == loss].set_index("metric")
        if len(mine):
            rows.append(
                {
                    "code": "ours",
                    "loss": LOSS_LABELS[loss],
                    "runs": f"{int(mine['runs'].iloc[0])} runs, up to 1000 epochs",
                }
                | {
                    paper.metric_title(m, "ecg5000"): f"{mine.loc[m, 'mean']:.3g} ± {mine.loc[m, 'std']:.2g}"
                    for m in paper.TABLE1_METRICS
                }
            )
    st.caption(
        "Seq2Seq on ECG5000, test metrics with each model's best-validation weights, the paper's scale. The published "
        "code's runs are short (CPU time was short); a DILATE model near MSE ×100 of 100 forecasts about the test "
        "series' mean, a flat line."
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def summary_body(text: str) -> str:
    """summary.md without its title, its cells' headings made small: it sits inside a section."""
    lines = text.splitlines()[1:]
    return "\n".join("#### " + line[3:] if line.startswith("## ") else line for line in lines)


@st.cache_resource(show_spinner=False, max_entries=64)
def experiment_charts(name: str, modified_ns: int) -> list[tuple]:
    """(subheading or None, key, figure) of each chart of an experiment's committed summary, built
    once per server and version of the file (its modification time): building them was most of
    this page's run. Every session draws the same figures and none changes them."""
    experiment = next(e for e in paper.EXPERIMENTS if e.name == name)
    rows = pd.read_csv(experiment.results / "summary.csv")
    grid = list(Sweep.from_file(experiment.sweep_file)[0].grid)
    protocol = "best" if (rows["protocol"] == "best").any() else "last"
    rows = rows[rows["protocol"] == protocol]
    if name == "figure5b_alpha":
        return [(None, f"paper.chart.{name}", charts_paper.alpha_panels(rows, paper.PAPER_LOSS_PARAMETERS["alpha"]))]
    drawn = []
    for cell in rows[grid].drop_duplicates().to_dict("records") if grid else [{}]:
        part = rows
        for setting, value in cell.items():
            part = part[part[setting] == value]
        heading = ", ".join(f"{setting} = {value}" for setting, value in cell.items()) if grid else None
        key = "paper.chart." + name + "".join(f".{v}" for v in cell.values())
        drawn.append((heading, key, charts_paper.paper_comparison(part)))
    return drawn


def charts_section(experiment: paper.Experiment) -> None:
    modified = (experiment.results / "summary.csv").stat().st_mtime_ns
    for heading, key, figure in experiment_charts(experiment.name, modified):
        if heading:
            st.markdown(f"#### {heading}")  # under the section's title, the expander's
        st.plotly_chart(figure, key=key)


def opened(title: str, name: str):
    """A section that is drawn only while it is open (its charts cost the browser seconds): the
    expander, or None while it is closed."""
    section = st.expander(title, key=f"paper.open.{name}", on_change="rerun")
    return section if section.open else None


def experiment_section(experiment: paper.Experiment) -> None:
    rerun = st.session_state.get(keys.PAPER_RERUN)
    running_here = rerun is not None and rerun["experiment"] == experiment.name
    section = opened(experiment.title, experiment.name)
    if section is None:
        if running_here:  # its small version goes on, and shows, with the section closed
            small_version()
        return
    with section:
        experiment_body(experiment, running_here)


def experiment_body(experiment: paper.Experiment, running_here: bool) -> None:
    st.markdown(experiment.text)
    summary = experiment.results / "summary.md"
    command = f"python -m dilate_lab sweep {experiment.sweep_file.relative_to(paper.ROOT)}"
    if summary.exists():
        first = summary.read_text().splitlines()[0].removeprefix("# Sweep: ")
        st.caption(
            f"{first[0].upper()}{first[1:]}; with each model's best-validation weights. Rerun or resume: `{command}`"
        )
        charts_section(experiment)
        with st.expander("The numbers: ours beside the paper's, with each p-value"):
            st.markdown(summary_body(summary.read_text()))
    else:
        st.info(f"Not run yet. Run it (it resumes where it stops): `{command}`")
    st.caption(small_duration(experiment))
    if st.button("Rerun a small version", key=f"paper.rerun.{experiment.name}", disabled=rerun_busy()):
        start_small(experiment)
        st.rerun()  # every button redrawn disabled while it runs
    if running_here:
        small_version()


def rerun_busy() -> bool:
    rerun = st.session_state.get(keys.PAPER_RERUN)
    return rerun is not None and not rerun.get("finished")


def small_plan(experiment: paper.Experiment) -> tuple[Sweep, str]:
    """The small version: the cells that keep the experiment's point, as many epochs as
    SMALL_SECONDS per seed afford at the full runs' pace; and a sentence on whether they suffice."""
    full = Sweep.from_file(experiment.sweep_file)[0]
    cells = spread(full.cells(), SMALL_CELLS.get(experiment.name, 1))
    measured = pace(stored_rows(experiment.results))
    seconds_per_epoch, best_epoch = measured or (0.2, 0.0)
    epochs = int(min(server.limits().max_epochs, max(10, SMALL_SECONDS / max(seconds_per_epoch, 1e-3))))
    plan = reduced(full, epochs, 2, cells)
    if best_epoch and epochs < best_epoch:
        note = (
            f"{epochs} epochs is too few for the effect to show: the full runs reached DILATE's best validation "
            f"loss at epoch {best_epoch:.0f} (median). Expect the losses to rank differently from the paper."
        )
    else:
        note = f"{epochs} epochs: no fewer than the full runs needed for their best validation loss."
    return plan, note


def small_duration(experiment: paper.Experiment) -> str:
    """'A small version: 2 trainings of 58 epochs, one after the other, about 1 min here': its expected
    duration on this server (explorer.cost's estimate from a calibration of each model, once per server)."""
    plan, _ = small_plan(experiment)
    tasks = plan.tasks()
    seconds = 0.0
    for task in tasks:
        config = Config.from_dict(task.config)
        settings = tuple(sorted((s.name, getattr(config, s.name)) for s in SOURCES[config.dataset].settings))
        seconds += cost.estimate(config, loaders.dataset(config.dataset, settings), config.epochs)
    return (
        f"A small version: {len(tasks)} trainings of {tasks[0].config['epochs']} epochs, one after the other, "
        f"about {cost.duration_text(seconds)} here in all."
    )


def start_small(experiment: paper.Experiment) -> None:
    """Queue the small version's tasks, one training job after the other."""
    plan, note = small_plan(experiment)
    st.session_state[keys.PAPER_RERUN] = {
        "experiment": experiment.name,
        "cells": [task.cell for task in plan.tasks()],
        "configs": [task.config for task in plan.tasks()],
        "runs": plan.runs,
        "note": note,
        "jobs": [],
        "next": 0,
    }
    submit_next()


def submit_next() -> None:
    rerun = st.session_state[keys.PAPER_RERUN]
    config = Config.from_dict(rerun["configs"][rerun["next"]])
    settings = tuple(sorted((s.name, getattr(config, s.name)) for s in SOURCES[config.dataset].settings))
    try:
        job = server.job_pool().submit(server.owner(), config, loaders.dataset(config.dataset, settings), config.epochs)
    except LimitError as error:
        rerun["error"] = str(error)
        rerun["finished"] = True
        return
    rerun["jobs"].append(job.id)
    rerun["next"] += 1


def cell_text(cell: dict) -> str:
    return ", ".join(
        f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}" for name, value in cell.items()
    )


def small_results(jobs: list, configs: list[dict], cells: list[dict]) -> pd.DataFrame:
    """Per cell and loss, the mean over its finished seeds of the last test metrics, one column per
    metric titled with its scale ('MSE ×100'); the paper's mean ± std in a row beside only where the
    model is one the paper trained (its loss parameters, no warm-up)."""
    by_cell = {}
    for job, config, cell in zip(jobs, configs, cells, strict=False):
        test = next(r["test"] for r in reversed(job.reports) if r.get("test"))
        by_cell.setdefault(cell_text(cell), (config, []))[1].append(test)
    rows = []
    for name, (config, tests) in by_cell.items():
        dataset = config["dataset"]
        scales, reported = paper.scales(dataset), paper.reported(dataset, config["model"])
        for loss in tests[0]:
            start = ({"cell": name} if name else {}) | {"loss": LOSS_LABELS[loss]}
            values = {
                paper.metric_title(metric, dataset): f"{sum(t[loss][metric] for t in tests) * scale / len(tests):.3g}"
                for metric, scale in scales.items()
            }
            rows.append(start | {"source": f"ours, {len(tests)} seeds"} | values)
            if paper_model(loss, config) and all((metric, loss) in reported for metric in scales):
                theirs = {paper.metric_title(m, dataset): "{:g} ± {:g}".format(*reported[(m, loss)]) for m in scales}
                rows.append(start | {"source": "the paper, 10 runs"} | theirs)
    return pd.DataFrame(rows)


@st.fragment(run_every=1.0)
def small_version() -> None:
    rerun = st.session_state.get(keys.PAPER_RERUN)
    if rerun is None:
        return
    pool = server.job_pool()
    first = rerun["configs"][0]
    warmup = f", after {first['mse_warmup']} epochs of the MSE loss" if first.get("mse_warmup") else ""
    st.markdown(
        f"**Your small version**: {first['dataset']}, {first['model']}, {first['epochs']} epochs{warmup}, "
        f"{rerun['runs']} seeds per setting, one training after the other; no early stopping, the last epoch's "
        f"weights. {rerun['note']} The paper's values are over 10 seeds and up to 1000 epochs; they stand beside "
        "only the models trained as the paper's were."
    )
    if rerun.get("error"):
        st.error(rerun["error"])
        return
    jobs = [pool.poll(job) for job in (pool.get(server.owner(), job_id) for job_id in rerun["jobs"]) if job]
    for index, job in enumerate(jobs):
        total = job.start_epoch + job.epochs
        label = cell_text(rerun["cells"][index])
        seed = index % rerun["runs"]
        text = f"{label + ', ' if label else ''}seed {seed}: {job.state}, epoch {job.epoch} of {total}"
        st.progress(min(1.0, job.epoch / total), text=text)
        if job.error:
            st.error(f"{label} seed {seed} failed: {job.error}")
            if not rerun.get("finished"):
                rerun["finished"] = True
                st.rerun(scope="app")  # the buttons enabled again
            return
    if jobs and jobs[-1].state in FINAL_STATES:
        if rerun["next"] < len(rerun["configs"]):
            submit_next()  # the next seed; the next redraw shows it
            return
        finished = [job for job in jobs if job.state == DONE]
        if finished:
            st.subheader(f"Test metrics after the last epoch, mean over {rerun['runs']} seeds")
            st.dataframe(small_results(finished, rerun["configs"], rerun["cells"]), hide_index=True)
        if not rerun.get("finished"):
            rerun["finished"] = True
            st.rerun(scope="app")  # the buttons enabled again


def speedup_section() -> None:
    section = opened("Figure 5(a): the custom backward against autograd", "figure5a")
    if section is None:
        return
    with section:
        speedup_body()


def speedup_body() -> None:
    st.markdown(
        "Forward and backward of DILATE with our kernels (one sweep forward, one backward and one "
        "Hessian-vector product) against plain autograd through the same recursion, by length k. "
        "The paper reports ×20 at k = 20 and ×35 at k = 100."
    )
    table = paper.RESULTS / "figure5a" / "figure5a.csv"
    if not table.exists():
        st.info("Not measured yet: `python -m bench.figure5a`.")
        return
    rows = pd.read_csv(table)
    st.plotly_chart(charts_paper.speedup_spread(rows, paper.FIGURE5A_SPEEDUPS), key="paper.chart.figure5a")
    if "speedup_low" not in rows:
        st.caption(
            "Medians of 9 timings each; the spread over the repeats was not recorded in this measurement "
            "(`python -m bench.figure5a` records it), and the zig-zag is the machine's noise, not the method."
        )
    st.dataframe(rows.rename(columns=charts_paper.FIGURE5A_COLUMNS), hide_index=True)


claims_section()
ecg_section()
st.header("Every experiment")
st.caption("Open one to see ours beside the paper's, its numbers, and a small version to rerun live.")
for experiment in paper.EXPERIMENTS:
    experiment_section(experiment)
speedup_section()
