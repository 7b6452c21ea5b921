"""Results: the run's test metrics at the paper's scale beside its Table 1, flat forecasts named,
the shape-timing trade-off per series, per-series distributions, downloads."""

import io
from dataclasses import asdict

import pandas as pd
import streamlit as st

from dilate_core.metrics import FLAT_FRACTION
from dilate_lab import paper
from dilate_lab.scores import tdi_zero_share, timed_series
from dilate_lab.settings import LOSS_LABELS
from dilate_lab.train import epochs_text
from explorer import charts, finished, server
from explorer.frame import require_app_frame

require_app_frame()

st.title("Results")
trainer, dataset, job = finished.current_run("results")
shipped = finished.is_shipped(job)
if not shipped:
    finished.write_run_link(job)
    server.kernels("scores")
source = job.config.dataset
per_loss = finished.scores(job, trainer, dataset)
pooled = {name: float(scores["pooled"]) for name, scores in per_loss.items()}
flat = [name for name, value in pooled.items() if value < FLAT_FRACTION]
timed = timed_series(dataset)  # series whose target has a step (a change) to time in the forecast window
tdi_zero = tdi_zero_share(per_loss)

rows = []
reported = paper.table1(source, job.config.model)
for metric, scale in paper.scales(source).items():
    for name, values in per_loss.items():
        row = {
            "metric": paper.metric_title(metric, source),
            "loss": LOSS_LABELS[name],
            "ours": float(f"{values[metric].mean() * scale:.3g}"),  # as many digits as the paper prints
            "step in window": float(f"{values[metric][timed].mean() * scale:.3g}") if timed.any() else None,
        }
        if (metric, name) in reported:
            mean, std = reported[(metric, name)]
            row["paper (Table 1)"] = f"{mean:g} ± {std:g}"
        row["forecasts"] = f"flat ({pooled[name]:.0%})" if name in flat else f"move ({pooled[name]:.0%})"
        row["TDI = 0"] = f"{tdi_zero[name]:.0%}" if metric == "tdi" else ""
        rows.append(row)
table = pd.DataFrame(rows)
if job.config.select_on_validation:
    st.subheader("Test metrics with each model's best validation weights, at the paper's scale")
    st.caption(
        f"Out of {job.epoch} epochs, the lowest validation loss came at epoch: {epochs_text(trainer.best_epochs)}."
    )
else:
    st.subheader(f"Test metrics after {job.epoch} epochs, at the paper's scale")
st.dataframe(table, hide_index=True)
st.caption(
    f"{paper.scale_caption(source)}, as the paper prints them. *ours*: the mean over all {len(timed)} test series; "
    f"*step in window*: over the {int(timed.sum())} whose target has a step (a change) inside the forecast window, "
    "the only ones with a timing to get right. *TDI = 0*: the share of a model's series whose DTW path is the "
    "diagonal; a flat target, a flat forecast or one far from its target everywhere gets TDI 0 by ties, not by "
    "being on time. *forecasts*: how much a model's forecasts move "
    f"over time, against their targets (the mean of their standard deviations); under {FLAT_FRACTION:.0%} they are "
    "flat." + (" The paper's values: means over 10 runs, early stopping up to 1000 epochs." if reported else "")
)
if flat:
    names = ", ".join(LOSS_LABELS[name] for name in flat)
    st.warning(
        f"The forecasts of {names} are flat: they move less than {FLAT_FRACTION:.0%} as much as their targets. "
        "A flat forecast has no timing to judge: the DTW path through it is set by ties and tiny wiggles, so its "
        "TDI is mostly near 0 and sometimes large, at random. TDI cannot rank these models: compare them on MSE "
        "and DTW, and train longer."
    )
if job.epoch < finished.PAPER_EPOCHS and not shipped:
    st.info(
        f"This run trained {job.epoch} epochs. The paper trains up to 1000 with early stopping (its published "
        f"code: {finished.PAPER_EPOCHS}); on the synthetic steps DILATE's forecasts stay partly flat for the "
        "first hundred epochs or more, and worse than MSE's on DTW. Continue this run on Train, or see the "
        "scores of the committed runs of up to 1000 epochs (10 seeds) on the Paper page."
    )
warning = paper.flat_start_warning(source, job.config.gamma, job.config.losses, job.config.mse_warmup)
if warning:
    st.info(warning)
left, right = st.columns(2)
if shipped:
    left.page_link("pages/train.py", label="Train your own run on Train", icon=":material/model_training:")
else:
    left.page_link(
        "pages/train.py",
        label="Continue training on Train",
        icon=":material/model_training:",
        query_params=finished.run_link(job.config),
    )
right.page_link("pages/paper.py", label="The paper's experiments, reproduced", icon=":material/article:")

st.subheader("Shape against timing, series by series")
flags = {name: scores["flatness"] < FLAT_FRACTION for name, scores in per_loss.items()}
st.plotly_chart(charts.dtw_tdi_scatter(per_loss, flags, source))
st.caption(
    "Each dot is one test series: its DTW (how far the forecast's shape is from the target's, whatever the "
    "timing) across, its TDI (how far the matching points are apart in time) up. Lower-left is better on both, "
    "except along the bottom edge: a dot at TDI 0 far to the right is a forecast whose path is the diagonal by "
    "ties (a flat target or forecast, or one far from its target everywhere), not one on time "
    f"({', '.join(f'{LOSS_LABELS[n]} {share:.0%}' for n, share in tdi_zero.items())} of the series have TDI 0). "
    "Open circles are flat forecasts: their TDI (mostly near 0) is a timing they never had."
    + (
        f" Drawn: {charts.SCATTER_SERIES} of the {len(dataset.test_x)} test series, chosen at random, the same for "
        "every loss; the table and the boxes below use them all."
        if len(dataset.test_x) > charts.SCATTER_SERIES
        else ""
    )
)

st.subheader("Per-series test metrics")
for column, metric in zip(st.columns(len(charts.METRICS)), charts.METRICS, strict=True):
    column.plotly_chart(charts.metric_box(per_loss, metric, source))

st.subheader("Downloads")
settings = {"data": dataset.name, "epochs trained": job.epoch} | {
    name: (",".join(value) if isinstance(value, tuple) else value) for name, value in asdict(job.config).items()
}
csv = table.assign(**{name: str(value) for name, value in settings.items()}).to_csv(index=False)
left, middle, right = st.columns(3)
left.download_button("Metrics (CSV)", csv, "dilate_metrics.csv", "text/csv", key="results.csv")
run_file = f"dilate_{job.name}_shipped.pt" if shipped else f"dilate_run_{finished.run_number(job)}.pt"
middle.download_button("Run checkpoint (.pt)", job.checkpoint, run_file, key="results.checkpoint")
if right.button("Prepare the figure as PNG", key="results.png_prepare"):
    figure = charts.metric_distributions(per_loss, source)
    try:
        with st.spinner("Rendering..."):
            buffer = io.BytesIO(figure.to_image(format="png", width=1200, height=450))
    except Exception as error:  # kaleido needs a Chrome or Chromium on the server
        right.error(
            f"PNG export is not available on this server ({type(error).__name__}); use the chart's camera icon."
        )
    else:
        right.download_button("Figure (PNG)", buffer, "dilate_metrics.png", "image/png", key="results.png")
st.caption(
    "The CSV holds, on every row, the data and every setting of the run that produced it; "
    + (
        "the link of this page names this shipped run: whoever opens it sees the same."
        if shipped
        else "the link of this page holds them too: whoever opens it can train the same configuration."
    )
)
