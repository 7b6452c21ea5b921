"""Paper: every table and figure of the paper's evaluation, ours beside the paper's, from the
committed sweep results; and a small version of any of them to watch live."""

import numpy as np
import pandas as pd
import streamlit as st

from dilate_core import paper
from dilate_core.settings import LOSS_LABELS
from dilate_core.sources import SOURCES
from dilate_core.sweep import Sweep, reduced
from dilate_core.train import Config
from explorer import charts, keys, loaders, server
from explorer.frame import require_app_frame
from explorer.jobs import DONE, FINAL_STATES, LimitError

require_app_frame()

SMALL_EPOCHS = 10

st.title("The paper, reproduced")
st.markdown(
    "Each experiment of the paper's evaluation is a sweep file under `sweeps/`, run through "
    "`python -m dilate_core sweep` (locally or on a Ray cluster); its committed results are below, ours beside "
    "the paper's with a verdict: *consistent* when the means differ by less than twice the combined standard "
    f"deviation; a model trained at other loss parameters than the paper's ({paper.loss_parameters_text()}; "
    "Figure 5(b), for one) shows the paper's values beside its own, without a verdict. Results say how many runs "
    "they hold: a sweep still running shows the runs done so far."
)


def speedup_section() -> None:
    st.header("Figure 5(a): the custom backward against autograd")
    st.markdown(
        "Forward and backward of DILATE with our kernels (one sweep forward, one backward and one "
        "Hessian-vector product) against plain autograd through the same recursion, by length k. "
        "The paper reports x20 at k = 20 and x35 at k = 100."
    )
    table = paper.RESULTS / "figure5a" / "figure5a.csv"
    if not table.exists():
        st.info("Not measured yet: `python -m bench.figure5a`.")
        return
    rows = pd.read_csv(table)
    st.plotly_chart(charts.speedup(rows["k"], rows["speedup"], paper.FIGURE5A_SPEEDUPS))
    st.dataframe(rows, hide_index=True)


def alpha_section(experiment: paper.Experiment) -> None:
    summary = experiment.results / "summary.csv"
    if summary.exists():
        rows = pd.read_csv(summary)
        rows = rows[rows["protocol"] == rows["protocol"].iloc[-1]]  # best validation weights where present
        st.plotly_chart(charts.alpha_influence(rows, paper.PAPER_LOSS_PARAMETERS["alpha"]))


def experiment_section(experiment: paper.Experiment) -> None:
    st.header(experiment.title)
    st.markdown(experiment.text)
    summary = experiment.results / "summary.md"
    command = f"python -m dilate_core sweep {experiment.sweep_file.relative_to(paper.ROOT)}"
    if summary.exists():
        if experiment.name == "figure5b_alpha":
            alpha_section(experiment)
        with st.expander("Every number, ours beside the paper's", expanded=experiment.name.startswith("table1")):
            st.markdown(summary.read_text())
    else:
        st.info(f"Not run yet. Run it (it resumes where it stops): `{command}`")
    if st.button("Rerun a small version", key=f"paper.rerun.{experiment.name}", disabled=rerun_busy()):
        start_small(experiment)


def rerun_busy() -> bool:
    rerun = st.session_state.get(keys.PAPER_RERUN)
    return rerun is not None and not rerun.get("finished")


def start_small(experiment: paper.Experiment) -> None:
    """Queue the experiment's first cell, few epochs, two seeds, one training job after the other."""
    plan = reduced(Sweep.from_file(experiment.sweep_file)[0], min(SMALL_EPOCHS, server.limits().max_epochs))
    st.session_state[keys.PAPER_RERUN] = {
        "experiment": experiment.name,
        "configs": [task.config for task in plan.tasks()],
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


def small_results(jobs: list, dataset: str, model: str) -> pd.DataFrame:
    """Mean over the finished seeds of each loss's last test metrics, beside the paper's."""
    scales, reported = paper.scales(dataset), paper.reported(dataset, model)
    tests = [next(r["test"] for r in reversed(job.reports) if r.get("test")) for job in jobs]
    rows = []
    for metric, scale in scales.items():
        row = {"metric": metric.upper()}
        for loss in tests[0]:
            row[LOSS_LABELS[loss]] = f"{np.mean([test[loss][metric] for test in tests]) * scale:.3g}"
            if (metric, loss) in reported:
                row[f"{LOSS_LABELS[loss]} (paper)"] = "{:g} ± {:g}".format(*reported[(metric, loss)])
        rows.append(row)
    return pd.DataFrame(rows)


@st.fragment(run_every=1.0)
def small_version() -> None:
    rerun = st.session_state.get(keys.PAPER_RERUN)
    if rerun is None:
        return
    pool = server.job_pool()
    st.header("Your small version")
    first = rerun["configs"][0]
    st.caption(
        f"{rerun['experiment']}: {first['dataset']}, {first['model']}, {first['epochs']} epochs, "
        f"{len(rerun['configs'])} seeds, one after the other; the paper's numbers come from 10 seeds and up "
        "to 1000 epochs, so expect the ranking to take shape, not the values."
    )
    if rerun.get("error"):
        st.error(rerun["error"])
        return
    jobs = [pool.poll(job) for job in (pool.get(server.owner(), job_id) for job_id in rerun["jobs"]) if job]
    for seed, job in enumerate(jobs):
        total = job.start_epoch + job.epochs
        st.progress(min(1.0, job.epoch / total), text=f"Seed {seed}: {job.state}, epoch {job.epoch} of {total}")
        if job.error:
            st.error(f"Seed {seed} failed: {job.error}")
            rerun["finished"] = True
            return
    if jobs and jobs[-1].state in FINAL_STATES:
        if rerun["next"] < len(rerun["configs"]):
            submit_next()  # the next seed; the next redraw shows it
            return
        finished = [job for job in jobs if job.state == DONE]
        rerun["finished"] = True
        if finished:
            st.subheader(f"Test metrics after the last epoch, mean over {len(finished)} seeds")
            st.dataframe(small_results(finished, first["dataset"], first["model"]), hide_index=True)


small_version()
for experiment in paper.EXPERIMENTS:
    experiment_section(experiment)
speedup_section()
