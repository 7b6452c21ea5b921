"""The Paper page's figures: ours beside the paper's, the verdict of the paper's test as colour,
Figure 5(a)'s speed-up and Figure 5(b)'s alpha, as plain functions of a sweep summary's rows."""

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dilate_lab import paper
from dilate_lab.settings import LOSS_LABELS as LABELS
from explorer.charts import COLOURS, METRICS, _layout


def speedup(k, ours, reported: dict[int, float]) -> go.Figure:
    """Figure 5(a): our DILATE's forward+backward speed-up over autograd by series length k."""
    fig = go.Figure()
    fig.add_scatter(x=list(k), y=list(ours), name="ours", mode="lines+markers", line={"color": COLOURS["dilate"]})
    fig.add_scatter(x=list(reported), y=list(reported.values()), name="the paper", mode="markers", marker={"size": 10})
    fig.update_xaxes(title_text="k (series length)")
    fig.update_yaxes(title_text="speed-up over autograd (x)", type="log")
    return _layout(fig, 320)


def alpha_influence(rows, paper_alpha: float) -> go.Figure:
    """Figure 5(b): DILATE's test MSE, DTW and TDI (mean ± std over seeds) against alpha, with
    the paper's Table 1 value at the alpha it was trained with, where the rows carry it.

    rows: a sweep summary's rows (a DataFrame with alpha, loss, metric, scale, mean, std,
    paper_mean, paper_std)."""
    rows = rows[rows["loss"] == "dilate"].sort_values("alpha")
    fig = make_subplots(rows=1, cols=3, subplot_titles=[f"test {label}" for label in METRICS.values()])
    for col, metric in enumerate(METRICS, start=1):
        part = rows[rows["metric"] == metric]
        fig.add_scatter(
            x=part["alpha"],
            y=part["mean"],
            error_y={"type": "data", "array": part["std"]},
            mode="lines+markers",
            line={"color": COLOURS["dilate"]},
            name=f"{METRICS[metric]} x{part['scale'].iloc[0]:g}" if len(part) else METRICS[metric],
            row=1,
            col=col,
        )
        reported = part.dropna(subset=["paper_mean"])
        if len(reported):
            fig.add_scatter(
                x=[paper_alpha],
                y=[reported["paper_mean"].iloc[0]],
                error_y={"type": "data", "array": [reported["paper_std"].iloc[0]]},
                mode="markers",
                marker={"symbol": "diamond", "size": 10, "color": "black"},
                name="the paper (Table 1)",
                showlegend=col == 1,
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="alpha")
    return _layout(fig, 300)


VERDICT_COLOURS = {"consistent": "#2e7d32", "differs": "#c62828", "not comparable": "#9e9e9e"}
VERDICT_MARKS = {"consistent": "✓", "differs": "≠", "not comparable": "·"}
OPEN_LINE = {"width": 2}  # the outline of an open marker (the paper's values)


def _legend_only(fig: go.Figure, name: str, marker: dict) -> None:
    """A legend entry of its own (one per kind of point), drawn nowhere."""
    fig.add_scatter(x=[None], y=[None], mode="markers", marker=marker, name=name, showlegend=True)


def paper_comparison(rows, metrics=paper.TABLE1_METRICS) -> go.Figure:
    """Ours beside the paper's, per metric (one panel each) and loss (its colour): dots at the
    mean with std error bars, ours filled, the paper's open; above each pair the verdict of the
    paper's test in its colour (✓ consistent, ≠ differs, · not comparable).

    rows: a sweep summary's rows of one cell and protocol (a DataFrame with loss, metric, scale,
    mean, std, paper_mean, paper_std, verdict)."""
    metrics = [m for m in metrics if (rows["metric"] == m).any()]
    losses = list(dict.fromkeys(rows["loss"]))
    titles = [f"{paper.METRIC_LABELS[m]} ×{rows[rows['metric'] == m]['scale'].iloc[0]:g}" for m in metrics]
    fig = make_subplots(rows=1, cols=max(1, len(metrics)), subplot_titles=titles)
    for col, metric in enumerate(metrics, start=1):
        for x, loss in enumerate(losses):
            part = rows[(rows["metric"] == metric) & (rows["loss"] == loss)]
            if part.empty:
                continue
            row = part.iloc[0]
            colour = COLOURS.get(loss, "#555555")
            fig.add_scatter(
                x=[x - 0.15], y=[row["mean"]], error_y={"type": "data", "array": [row["std"]]}, mode="markers",
                marker={"color": colour, "size": 10}, showlegend=False, name=f"{LABELS[loss]}, ours",
                hovertemplate=f"{LABELS[loss]}, ours: %{{y:.3g}} ± {row['std']:.2g}<extra></extra>",
                row=1, col=col,
            )  # fmt: skip
            if row["paper_mean"] == row["paper_mean"]:  # not NaN: the paper has the value
                verdict = row["verdict"] if isinstance(row["verdict"], str) and row["verdict"] else "not comparable"
                fig.add_scatter(
                    x=[x + 0.15], y=[row["paper_mean"]], error_y={"type": "data", "array": [row["paper_std"]]},
                    mode="markers", marker={"color": "white", "size": 10, "symbol": "diamond",
                                            "line": {"color": colour, "width": 2}},
                    showlegend=False, name=f"{LABELS[loss]}, paper",
                    hovertemplate=f"{LABELS[loss]}, the paper: %{{y:.3g}} ± {row['paper_std']:.2g}<extra></extra>",
                    row=1, col=col,
                )  # fmt: skip
                top = max(row["mean"] + row["std"], row["paper_mean"] + row["paper_std"])
                fig.add_annotation(
                    x=x, y=top, text=VERDICT_MARKS[verdict], showarrow=False, yshift=12,
                    font={"color": VERDICT_COLOURS[verdict], "size": 16}, row=1, col=col,
                )  # fmt: skip
        fig.update_xaxes(
            tickvals=list(range(len(losses))), ticktext=[LABELS[loss] for loss in losses],
            range=[-0.6, len(losses) - 0.4], row=1, col=col,
        )  # fmt: skip
    _legend_only(fig, "ours (mean ± std)", {"color": "#777777", "size": 10})
    _legend_only(
        fig, "the paper", {"color": "white", "size": 10, "symbol": "diamond", "line": {"color": "#777777", "width": 2}}
    )
    for verdict, colour in VERDICT_COLOURS.items():
        _legend_only(fig, f"{VERDICT_MARKS[verdict]} {verdict}", {"color": colour, "size": 9, "symbol": "square"})
    fig.update_layout(legend={"orientation": "h", "y": -0.15})
    return _layout(fig, 340)


def alpha_panels(rows, paper_alpha: float) -> go.Figure:
    """Figure 5(b), readable over every alpha: DILATE's test MSE, DTW and TDI (mean ± std over
    seeds) against alpha, MSE and DTW on log axes (alpha = 0's exploding values no longer flatten
    the rest), and the paper's Table 1 value at the alpha it was trained with. One legend entry each.

    rows: a sweep summary's rows (a DataFrame with alpha, loss, metric, scale, mean, std,
    paper_mean, paper_std), one protocol."""
    rows, dilate = rows[rows["loss"] == "dilate"].sort_values("alpha"), COLOURS["dilate"]
    titles = [f"{METRICS[m]} ×{rows[rows['metric'] == m]['scale'].iloc[0]:g}" for m in METRICS]
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles)
    for col, metric in enumerate(METRICS, start=1):
        part = rows[rows["metric"] == metric]
        fig.add_scatter(
            x=part["alpha"], y=part["mean"], error_y={"type": "data", "array": part["std"]}, mode="lines+markers",
            line={"color": COLOURS["dilate"]}, name="DILATE, ours (mean ± std)", legendgroup="ours",
            showlegend=col == 1, row=1, col=col,
        )  # fmt: skip
        at_paper = part[part["alpha"] == paper_alpha]
        reported = at_paper.dropna(subset=["paper_mean"])
        if len(reported):
            fig.add_scatter(
                x=[paper_alpha], y=[reported["paper_mean"].iloc[0]],
                error_y={"type": "data", "array": [reported["paper_std"].iloc[0]]}, mode="markers",
                marker={"symbol": "diamond", "size": 11, "color": "white", "line": OPEN_LINE | {"color": dilate}},
                name=f"the paper (Table 1, alpha {paper_alpha:g})", legendgroup="paper", showlegend=col == 1,
                row=1, col=col,
            )  # fmt: skip
        if metric != "tdi":  # TDI stays linear: alpha = 0's flat forecasts score exactly 0
            fig.update_yaxes(type="log", dtick="D2", row=1, col=col)
    fig.update_xaxes(title_text="alpha")
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return _layout(fig, 340)


FIGURE5A_COLUMNS = {
    "k": "length k",
    "ours_ms": "ours, median (ms)",
    "ours_q1_ms": "ours, 1st quartile (ms)",
    "ours_q3_ms": "ours, 3rd quartile (ms)",
    "autograd_ms": "autograd, median (ms)",
    "autograd_q1_ms": "autograd, 1st quartile (ms)",
    "autograd_q3_ms": "autograd, 3rd quartile (ms)",
    "speedup": "speed-up (×)",
    "speedup_low": "speed-up, low (×)",
    "speedup_high": "speed-up, high (×)",
    "repeats": "repeats",
}


def speedup_spread(rows, reported: dict[int, float]) -> go.Figure:
    """Figure 5(a): the custom backward's speed-up over autograd by length k, on a log axis, with
    the spread over repeated timings where measured (columns speedup_low, speedup_high: the
    quartiles' ratio), and the paper's reported speed-ups."""
    fig = go.Figure()
    error = None
    if "speedup_low" in rows and "speedup_high" in rows:
        error = {
            "type": "data", "symmetric": False,
            "array": rows["speedup_high"] - rows["speedup"], "arrayminus": rows["speedup"] - rows["speedup_low"],
        }  # fmt: skip
    fig.add_scatter(
        x=rows["k"], y=rows["speedup"], error_y=error, mode="lines+markers", line={"color": COLOURS["dilate"]},
        name="ours: median" + (" and quartiles over repeats" if error else " over repeats"),
    )  # fmt: skip
    fig.add_scatter(
        x=list(reported), y=list(reported.values()), mode="markers",
        marker={"symbol": "diamond", "size": 11, "color": "white", "line": {"color": "#222222", "width": 2}},
        name="the paper",
    )  # fmt: skip
    fig.update_xaxes(title_text="series length k")
    fig.update_yaxes(title_text="speed-up over autograd (×)", rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": -0.3})
    return _layout(fig, 320)
