"""Results: the run's test metrics beside the paper's Table 1, per-series distributions, downloads."""

import io

import pandas as pd
import streamlit as st

from dilate_core import paper
from dilate_core.settings import LOSS_LABELS
from dilate_core.train import epochs_text
from explorer import charts, scoring, server
from explorer.finished import finished_run
from explorer.frame import require_app_frame

require_app_frame()

st.title("Results")
trainer, dataset, job = finished_run()


server.kernels("scores")
if scoring.scored(job):
    per_loss = scoring.run_scores(job, trainer, dataset)
else:
    with st.spinner("Scoring every test series (once per run)..."):
        per_loss = scoring.run_scores(job, trainer, dataset)
rows = []
scales = paper.scale_caption(job.config.dataset)
reported = paper.table1(job.config.dataset, job.config.model)
for metric, scale in paper.scales(job.config.dataset).items():
    for name, values in per_loss.items():
        row = {"metric": paper.METRIC_LABELS[metric], "loss": LOSS_LABELS[name], "ours": values[metric].mean() * scale}
        if (metric, name) in reported:
            mean, std = reported[(metric, name)]
            row["paper (Table 1)"] = f"{mean:g} ± {std:g}"
        rows.append(row)
table = pd.DataFrame(rows)
if job.config.select_on_validation:
    epochs = epochs_text(trainer.best_epochs)
    st.subheader(f"Test metrics with each model's best validation weights ({scales})")
    st.caption(f"Out of {job.epoch} epochs, the lowest validation loss came at epoch: {epochs}.")
else:
    st.subheader(f"Test metrics after {job.epoch} epochs ({scales})")
if reported:
    st.caption("The paper's values: means over 10 runs, early stopping up to 1000 epochs; your settings may differ.")
st.dataframe(table, hide_index=True)
warning = paper.flat_start_warning(job.config.dataset, job.config.gamma, job.config.losses, job.config.mse_warmup)
if warning:
    st.info(warning)
    st.page_link("pages/paper.py", label="Open Paper", icon=":material/article:")
figure = charts.metric_distributions(per_loss)
st.plotly_chart(figure)

st.subheader("Downloads")
left, middle, right = st.columns(3)
left.download_button("Metrics (CSV)", table.to_csv(index=False), "dilate_metrics.csv", "text/csv", key="results.csv")
middle.download_button("Run checkpoint (.pt)", job.checkpoint, f"dilate_run_{job.id}.pt", key="results.checkpoint")
if right.button("Prepare the figure as PNG", key="results.png_prepare"):
    try:
        with st.spinner("Rendering..."):
            buffer = io.BytesIO(figure.to_image(format="png", width=1200, height=400))
    except Exception as error:  # kaleido needs a Chrome or Chromium on the server
        right.error(
            f"PNG export is not available on this server ({type(error).__name__}); use the chart's camera icon."
        )
    else:
        right.download_button("Figure (PNG)", buffer, "dilate_metrics.png", "image/png", key="results.png")
