"""Paper: the paper's claims at a glance, then every table and figure of its evaluation, ours beside
the paper's as pictures (the numbers one click away), from the committed sweep results; and a small
version of any of them to watch live, under its button."""

import pandas as pd
import streamlit as st

from dilate_lab import paper
from dilate_lab.settings import LOSS_LABELS
from dilate_lab.sources import SOURCES
from dilate_lab.sweep import CLAIMS, Sweep, pace, paper_model, reduced, spread, stored_rows
from dilate_lab.train import Config
from explorer import charts, keys, loaders, server
from explorer.frame import require_app_frame
from explorer.jobs import DONE, FINAL_STATES, LimitError

require_app_frame()

SMALL_SECONDS = 40  # a small version's budget per seed, from the full runs' pace on this machine
SMALL_CELLS = {"figure5b_alpha": 3}  # cells of the grid a small version keeps: Figure 5(b) needs several alphas
HOLDS = {"yes": "✓", "no": "✗", "inconclusive": "?"}
CLAIM_BY_NAME = {claim.name: claim for claim in CLAIMS}

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


def claims_section() -> None:
    st.header("The paper's claims at a glance", anchor="claims")
    if not paper.CLAIMS_CSV.exists():
        st.info("No claims judged yet: they come with the sweeps' summaries.")
        return
    claims = pd.read_csv(paper.CLAIMS_CSV, dtype=str)
    titles = {e.name: e.title for e in paper.EXPERIMENTS}
    datasets = {e.name: SOURCES[experiment_dataset(e)].label for e in paper.EXPERIMENTS if e.sweep_file.exists()}
    table = pd.DataFrame(
        {
            "": claims["holds"].map(HOLDS),
            "experiment": claims["experiment"].map(titles),
            "data set": claims["experiment"].map(datasets),
            "model": claims["model"],
            "claim": claims["claim"].map(lambda name: CLAIM_BY_NAME[name].text()),
            "ours": claims["ours"],
            "p (paired t-test)": claims["p_value"],
        }
    )
    st.markdown(
        "Each run trains every loss from the same seed on the same batches, so a claim is judged run by run: the "
        "paired t-test at 0.05 over the runs, with each model's best-validation weights. **✓** significantly in the "
        "paper's direction (for *as good as*: not significantly worse, a weak test with few runs), **✗** "
        "significantly against it, **?** neither."
    )
    # (experiment, model) -> its row, in claims.csv's order; the experiment first, as one data set and
    # model can be in several (ECG5000's Seq2Seq under the paper's protocol and after a warm-up)
    glance = {}
    for _, claim in claims.iterrows():
        row = glance.setdefault(
            (claim["experiment"], claim["model"]),
            {
                "experiment": titles.get(claim["experiment"], claim["experiment"]),
                "data set": datasets.get(claim["experiment"]),
                "model": claim["model"],
            }
            | {CLAIM_BY_NAME[c.name].short: "–" for c in CLAIMS},  # – : a loss the experiment did not train
        )
        row[CLAIM_BY_NAME[claim["claim"]].short] = HOLDS[claim["holds"]]
    st.dataframe(pd.DataFrame(list(glance.values())), hide_index=True)
    st.markdown("\n".join(f"- **{claim.short}** ({claim.text()}): {claim.sentence}" for claim in CLAIMS))
    with st.expander("Each claim's numbers and p-value"):
        st.dataframe(table, hide_index=True)


def published_rows() -> pd.DataFrame | None:
    if not paper.PUBLISHED_CSV.exists():
        return None
    rows = pd.read_csv(paper.PUBLISHED_CSV)
    return rows[rows["protocol"] == "best"]


def ecg_section() -> None:
    st.header("ECG5000: what reproduces, and why")
    claims = pd.read_csv(paper.CLAIMS_CSV, dtype=str) if paper.CLAIMS_CSV.exists() else pd.DataFrame()

    def holds(experiment: str, claim: str) -> str:
        found = claims[(claims.get("experiment") == experiment) & (claims.get("claim") == claim)] if len(claims) else []
        return ", ".join(f"{m} {HOLDS[h]}" for m, h in zip(found["model"], found["holds"], strict=True)) or "not run"

    protocol_runs = len({r["run"] for r in stored_rows(paper.RESULTS / "ecg5000_warmup_protocol")})
    st.markdown(
        "**Under the paper's protocol** DILATE does not beat the MSE loss on ECG5000 as the paper says it does "
        f"(TDI: {holds('table1_ecg5000', 'dilate_mse_on_tdi')}; DTW: {holds('table1_ecg5000', 'dilate_mse_on_dtw')}). "
        "**The authors' own published code**, trained from its checkout with our data split "
        "(`python -m bench.ecg_published`, table below), stalls the same way, so our implementation is not the "
        "cause. **Why**: a fresh Seq2Seq forecasts an almost flat series, and there DILATE's shape and temporal "
        "gradients have similar norms and opposite directions (cosine near -1, `python -m bench.ecg_flat_start`): "
        "the shape term asks for a heartbeat anywhere, the temporal term pushes back every bump not yet in place, "
        "and the forecast stays flat for a hundred epochs or more. **Under our protocol**, 100 epochs of the MSE "
        "loss first (not in the paper), the Seq2Seq's claims read "
        f"TDI: {holds('ecg5000_warmup_protocol', 'dilate_mse_on_tdi')}; "
        f"DTW: {holds('ecg5000_warmup_protocol', 'dilate_mse_on_dtw')}; "
        f"MSE: {holds('ecg5000_warmup_protocol', 'dilate_mse_on_mse')} ({protocol_runs} of its 10 runs so far). "
        "The paper's ECG5000 result needs something the paper does not state."
    )
    published = published_rows()
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
    epochs = ", ".join(str(e) for e in sorted(set(published["epochs"])))
    st.caption(
        "Seq2Seq on ECG5000, test metrics with each model's best-validation weights, the paper's scale. The published "
        f"code ran {epochs} epochs (CPU time was short), ours up to 1000: its MSE-loss model is still learning there, "
        "while its DILATE model is where a flat forecast is (MSE ×100 near 100, the test series' variance)."
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
        return [(None, f"paper.chart.{name}", charts.alpha_panels(rows, paper.PAPER_LOSS_PARAMETERS["alpha"]))]
    drawn = []
    for cell in rows[grid].drop_duplicates().to_dict("records") if grid else [{}]:
        part = rows
        for setting, value in cell.items():
            part = part[part[setting] == value]
        heading = ", ".join(f"{setting} = {value}" for setting, value in cell.items()) if grid else None
        key = "paper.chart." + name + "".join(f".{v}" for v in cell.values())
        drawn.append((heading, key, charts.paper_comparison(part)))
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
    """Per cell and metric, the mean over its finished seeds of each loss's last test metrics; the
    paper's value beside only where the model is one the paper trained (its loss parameters, no warm-up)."""
    by_cell = {}
    for job, config, cell in zip(jobs, configs, cells, strict=False):
        test = next(r["test"] for r in reversed(job.reports) if r.get("test"))
        by_cell.setdefault(cell_text(cell), (config, []))[1].append(test)
    rows = []
    for name, (config, tests) in by_cell.items():
        scales, reported = paper.scales(config["dataset"]), paper.reported(config["dataset"], config["model"])
        for metric, scale in scales.items():
            row = ({"cell": name} if name else {}) | {"metric": paper.METRIC_LABELS[metric]}
            for loss in tests[0]:
                values = [test[loss][metric] * scale for test in tests]
                row[LOSS_LABELS[loss]] = f"{sum(values) / len(values):.3g}"
                if paper_model(loss, config) and (metric, loss) in reported:
                    row[f"{LOSS_LABELS[loss]} (paper)"] = "{:g} ± {:g}".format(*reported[(metric, loss)])
            rows.append(row)
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
    st.plotly_chart(charts.speedup_spread(rows, paper.FIGURE5A_SPEEDUPS), key="paper.chart.figure5a")
    if "speedup_low" not in rows:
        st.caption(
            "Medians of 9 timings each; the spread over the repeats was not recorded in this measurement "
            "(`python -m bench.figure5a` records it), and the zig-zag is the machine's noise, not the method."
        )
    st.dataframe(rows.rename(columns=charts.FIGURE5A_COLUMNS), hide_index=True)


claims_section()
ecg_section()
st.header("Every experiment")
st.caption("Open one to see ours beside the paper's, its numbers, and a small version to rerun live.")
for experiment in paper.EXPERIMENTS:
    experiment_section(experiment)
speedup_section()
