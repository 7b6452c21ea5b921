"""Every plotly figure the app shows, as plain functions of arrays: testable without a browser.

Series are arrays of shape (length, d); only the first feature is drawn. Loss names are the
trainer's: 'mse', 'soft_dtw', 'dilate'; each has one colour everywhere.
"""

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from dilate_lab import paper
from dilate_lab.playground import NO_GRADIENT
from dilate_lab.settings import LOSS_LABELS as LABELS

COLOURS = {
    "mse": "#1f77b4",
    "soft_dtw": "#ff7f0e",
    "dilate": "#2ca02c",
    "sdtw_div": "#9467bd",
    "dilate_t_weighted": "#8c564b",
    "dilate_t_band": "#e377c2",
    "target": "#808080",  # mid grey: as readable on Streamlit's dark background as on white
    "input": "#b0b0b0",
    "path": "#e53935",  # the hard DTW path, over the cost matrix and the soft path map
    "breakpoint": "#d62728",
}
METRICS = {metric: paper.METRIC_LABELS[metric] for metric in paper.TABLE1_METRICS}
# The soft path map: one hue whose opacity grows with E, so that E = 0 is the background in
# either theme. No stop is one of Streamlit's placeholder colours (#000001-#000040), which its
# Plotly theme would replace; the steep start keeps small weights of a spread map visible.
SOFT_MAP_RGB = (126, 87, 194)
SOFT_MAP_SCALE = [
    [stop, "rgba({}, {}, {}, {:g})".format(*SOFT_MAP_RGB, opacity)]
    for stop, opacity in ((0.0, 0.0), (0.02, 0.2), (0.1, 0.45), (0.4, 0.8), (1.0, 1.0))
]
COST_SCALE = "Viridis"  # its stops are no placeholders either


def _first_feature(series) -> np.ndarray:
    return np.asarray(series, dtype=float).reshape(len(series), -1)[:, 0]


def _layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    """Height, title and margins that grow to fit tick labels and titles (automargin), so that
    nothing is cut in the page or in an exported PNG; the legend below the plot, where it cannot
    cover the title on a narrow screen."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 20, "b": 10},
        title={"text": title, "automargin": True} if title else None,
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def scaled(value, metric: str, dataset: str):
    """A metric's value (or array of them) at the paper's scale for this data set (paper.scales)."""
    return np.asarray(value, dtype=float) * paper.scales(dataset)[metric]


def forecast(x, y, predictions: dict | None = None, breakpoint: int | None = None, title: str | None = None):
    """Input (n_input, d), target (n_output, d) and the models' forecasts (n_output, d), on one time axis."""
    n_input = len(x)
    fig = go.Figure()
    t_in, t_out = np.arange(n_input), np.arange(n_input, n_input + len(y))
    fig.add_scatter(x=t_in, y=_first_feature(x), name="input", line={"color": COLOURS["input"], "dash": "dot"})
    fig.add_scatter(x=t_out, y=_first_feature(y), name="target", line={"color": COLOURS["target"], "width": 3})
    for name, pred in (predictions or {}).items():
        fig.add_scatter(
            x=t_out, y=_first_feature(pred), name=LABELS.get(name, name), line={"color": COLOURS[name]}, meta=name
        )
    if breakpoint is not None and breakpoint < n_input + len(y):
        fig.add_vline(x=breakpoint, line_dash="dot", line_color=COLOURS["breakpoint"], annotation_text="step")
    fig.update_xaxes(title_text="time step")
    return _layout(fig, 320, title)


def refill_forecast(fig: go.Figure, predictions: dict) -> bool:
    """Put new forecasts (n_output, d) into a figure from `forecast` with the same models, in
    place: a small fraction of the cost of building it again. False (nothing changed) if the
    figure's models are not these."""
    traces = [trace for trace in fig.data if trace.meta is not None]
    if {trace.meta for trace in traces} != set(predictions):
        return False
    with fig.batch_update():
        for trace in traces:
            trace.y = _first_feature(predictions[trace.meta])
    return True


def series_thumbnail(x, y, breakpoint: int | None = None, title: str | None = None, flag: str = "") -> go.Figure:
    """One example, small: input (n_input, d) and target (n_output, d) on one time axis, its
    breakpoint dotted; `flag`, a few words under the title (e.g. why the series is unusual), where
    no label inside the plot can run into it."""
    fig = forecast(x, y, breakpoint=breakpoint, title=title)
    fig.update_layout(showlegend=False)
    _layout(fig, 220, title)
    if flag:
        fig.update_layout(title_subtitle={"text": flag, "font": {"color": COLOURS["breakpoint"]}})
    return fig


def training_curve(reports: list[dict], name: str) -> go.Figure:
    """The training loss of one model per epoch (each loss has its own scale: one figure each).

    A model stopped early is absent from the later reports: its curve ends there.
    """
    fig = go.Figure()
    fig.add_scatter(x=[], y=[], name=LABELS[name], line={"color": COLOURS[name]}, meta=[name], showlegend=False)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=f"{LABELS[name]} loss")
    return refill_curves(_layout(fig, 240), reports)


def trained_models(reports: list[dict]) -> list[str]:
    """The models these reports train, in their order (none before the first epoch)."""
    trained = next((r for r in reports if r["train"]), None)  # not a report from before training
    return list(trained["train"]) if trained else []


def metric_curve(reports: list[dict], metric: str, dataset: str) -> go.Figure:
    """One test metric of each model on the evaluation epochs, at the paper's scale for `dataset`."""
    evaluated = next((r for r in reports if r.get("test")), None)
    fig = go.Figure()
    scale = paper.scales(dataset)[metric]
    for name in evaluated["test"] if evaluated else ():
        fig.add_scatter(
            x=[],
            y=[],
            name=LABELS[name],
            line={"color": COLOURS[name]},
            mode="lines+markers",
            meta=[name, metric, scale],
        )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=f"test {paper.metric_title(metric, dataset)}")
    return refill_curves(_layout(fig, 280), reports)


def refill_curves(fig: go.Figure, reports: list[dict]) -> go.Figure:
    """Redraw the curves of a figure from `training_curve` or `metric_curve` with these reports,
    in place: a fraction of the cost of building the figure again. Each trace's meta says what
    it draws: [loss] a training loss, [loss, metric, scale] a test metric times its scale."""
    with fig.batch_update():
        for trace in fig.data:
            if len(trace.meta) == 1:
                (name,) = trace.meta
                drawn = [(r["epoch"], r["train"][name]["loss"]) for r in reports if name in r["train"]]
            else:
                name, metric, scale = trace.meta  # none after an early stop
                drawn = [
                    (r["epoch"], r["test"][name][metric] * scale) for r in reports if name in (r.get("test") or {})
                ]
            trace.x, trace.y = [epoch for epoch, _ in drawn], [value for _, value in drawn]
    return fig


def _steps(n: int, t0: int) -> np.ndarray:
    return np.arange(t0, t0 + n)


def _matrix_axes(fig: go.Figure) -> None:
    """Forecast steps across, target steps down, both counted as on the forecast charts (from t0)."""
    fig.update_xaxes(title_text="forecast at time step j", showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(
        title_text="target at time step i",
        autorange="reversed",
        scaleanchor="x",
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )


def _path_trace(fig: go.Figure, path, t0: int) -> None:
    path = np.asarray(path) + t0
    fig.add_scatter(
        x=path[:, 1],
        y=path[:, 0],
        mode="lines+markers",
        name="DTW path",
        line={"color": COLOURS["path"], "width": 2},
        marker={"size": 4},
    )


def _matrix_figure(z: np.ndarray, t0: int, zmax: float, colorscale, colour_title: str) -> go.Figure:
    """A heatmap of an (N, M) matrix on [0, zmax], its axes counting time steps from t0."""
    N, M = z.shape
    heatmap = go.Heatmap(
        z=z,
        x=_steps(M, t0),
        y=_steps(N, t0),
        zmin=0.0,
        zmax=zmax,
        colorscale=colorscale,
        colorbar={"title": colour_title, "thickness": 12},
    )
    return go.Figure(heatmap)


def cost_matrix(
    D, path=None, title: str = "DTW cost matrix and optimal path", t0: int = 0, zmax: float | None = None
) -> go.Figure:
    """Heatmap of D (N target steps x M forecast steps) with the optimal DTW path (L, 2) over it.

    t0: the time step of the first output step (n_input), so the axes count as the forecast
    charts do; zmax: the top of the colour range (the largest cost of the matrices shown beside
    it, so that they compare), default D's own maximum."""
    D = np.asarray(D)
    fig = _matrix_figure(D, t0, float(D.max()) if zmax is None else zmax, COST_SCALE, "cost")
    if path is not None:
        _path_trace(fig, path, t0)
    _matrix_axes(fig)
    return _layout(fig, 340, title)


def soft_alignment(E, gamma: float, title: str | None = None, t0: int = 0, path=None) -> go.Figure:
    """Heatmap of the expected alignment E (N, M) on the fixed scale [0, 1], E = 0 transparent
    (the background shows), the diagonal dashed and, if given, the hard DTW path (L, 2) over it."""
    E = np.asarray(E)
    fig = _matrix_figure(E, t0, 1.0, SOFT_MAP_SCALE, "E")
    n = min(E.shape)
    fig.add_scatter(
        x=[t0, t0 + n - 1],
        y=[t0, t0 + n - 1],
        mode="lines",
        name="diagonal (on time)",
        line={"color": COLOURS["input"], "dash": "dash"},
    )
    if path is not None:
        _path_trace(fig, path, t0)
    _matrix_axes(fig)
    return _layout(fig, 340, title or f"soft path map, gamma = {gamma:g}")


def metric_box(per_series: dict[str, dict[str, np.ndarray]], metric: str, dataset: str) -> go.Figure:
    """Box plots of one metric per test series at the paper's scale, one box per loss:
    per_series[loss][metric] is (n,) unscaled."""
    fig = go.Figure()
    for name, scores in per_series.items():
        fig.add_box(
            y=scaled(scores[metric], metric, dataset),
            name=LABELS[name],
            marker_color=COLOURS[name],
            boxmean=True,
            showlegend=False,
        )
    fig.update_yaxes(title_text=paper.metric_title(metric, dataset))
    return _layout(fig, 320)


def metric_distributions(per_series: dict[str, dict[str, np.ndarray]], dataset: str) -> go.Figure:
    """The three `metric_box` panels side by side in one figure, titled: what the PNG download holds."""
    titles = [paper.metric_title(metric, dataset) for metric in METRICS]
    fig = make_subplots(rows=1, cols=len(METRICS), subplot_titles=titles, horizontal_spacing=0.08)
    for col, metric in enumerate(METRICS, start=1):
        for trace in metric_box(per_series, metric, dataset).data:
            fig.add_trace(trace, row=1, col=col)
    _layout(fig, 360, "Per-series test metrics (the paper's scale)")
    # the title well above the panels' own titles; the boxes are named on their axes: no legend
    fig.update_layout(margin={"t": 90, "l": 20, "r": 20, "b": 20}, title={"y": 0.96, "yref": "container"})
    return fig.update_layout(showlegend=False)


SCATTER_SERIES = 1000  # series drawn per loss at most: ECG5000's 4500 x 3 losses took seconds to draw


def drawn_series(n: int) -> np.ndarray:
    """Which of n test series the DTW-TDI scatter draws: all up to SCATTER_SERIES, else that many
    chosen at random (seed 0), the same ones for every loss, in their order."""
    if n <= SCATTER_SERIES:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, SCATTER_SERIES, replace=False))


def dtw_tdi_scatter(per_series: dict[str, dict[str, np.ndarray]], flat: dict[str, np.ndarray], dataset: str):
    """Each test series's DTW against its TDI, one colour per loss, at the paper's scale, for the
    series `drawn_series` picks; flat forecasts (flat[loss], (n,) bools) as open markers: they sit
    at TDI near 0 whatever their DTW."""
    fig = go.Figure()
    for name, scores in per_series.items():
        drawn = np.zeros(len(flat[name]), bool)
        drawn[drawn_series(len(drawn))] = True
        for is_flat in (False, True):
            keep = (flat[name] == is_flat) & drawn
            if not keep.any():
                continue
            fig.add_scatter(
                x=scaled(scores["dtw"][keep], "dtw", dataset),
                y=scaled(scores["tdi"][keep], "tdi", dataset),
                mode="markers",
                name=f"{LABELS[name]}{' (flat)' if is_flat else ''}",
                marker={
                    "color": COLOURS[name],
                    "size": 6,
                    "opacity": 0.6,
                    "symbol": "circle-open" if is_flat else "circle",
                },
            )
    fig.update_xaxes(title_text=f"{paper.metric_title('dtw', dataset)} (shape error)")
    fig.update_yaxes(title_text=f"{paper.metric_title('tdi', dataset)} (timing error)")
    return _layout(fig, 380)


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


def warmup() -> None:
    """Build and serialise the live training figures once, on a one-epoch report of one model.

    plotly loads the validators of figures and their traces on first use (about 0.25 s here):
    done when the server starts, a visitor's first live chart does not wait for it.
    """
    report = {"epoch": 1, "train": {"mse": {"loss": 1.0}}, "test": {"mse": dict.fromkeys(METRICS, 1.0)}}
    series = np.zeros((2, 1))
    figures = (training_curve([report], "mse"), metric_curve([report], "mse", "synthetic"))
    for figure in (*figures, forecast(series, series, {"mse": series}, 1)):
        pio.to_json(figure, validate=False)


# The loss playground and the overview. Loss names here are the playground's (LOSS_NAMES there).
PLAYGROUND_LOSS_KEYS = {
    "MSE": "mse",
    "soft-DTW": "soft_dtw",
    "temporal": "temporal",
    "DILATE": "dilate",
    "divergence": "sdtw_div",
}
TEMPORAL_COLOUR = "#17becf"  # DILATE's temporal term while COLOURS names none: unlike every loss's
FORECAST_COLOUR = "#d62728"  # a forecast made by hand, not by a model trained with some loss
GUIDE_COLOUR = "#8c8c8c"  # zero lines and the current setting's marker: readable on light and dark
_TOP_LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"}


def loss_colour(name: str) -> str:
    """The colour of a playground loss ('MSE', 'soft-DTW', 'temporal', 'DILATE', 'divergence')."""
    return COLOURS.get(PLAYGROUND_LOSS_KEYS[name], TEMPORAL_COLOUR)


def _top_legend(fig: go.Figure, height: int) -> go.Figure:
    """No title; the legend in a row above the plot, where narrow screens wrap it without overlap."""
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, legend=_TOP_LEGEND)
    return fig


def gradient_view(target, forecast, gradient, name: str, moved=None) -> go.Figure:
    """What one loss pushes: above, the target and forecast (N,) with arrows to where one descent
    step moves each point (`moved`, (N,)); below, the gradient d loss / d point as bars, on an axis
    symmetric about its drawn zero (a gradient of at most NO_GRADIENT gets the axis [-1, 1] and a note)."""
    t = np.arange(len(target))
    colour = loss_colour(name)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06)
    fig.add_scatter(x=t, y=target, name="target", line={"color": COLOURS["target"], "width": 3}, row=1, col=1)
    fig.add_scatter(
        x=t,
        y=forecast,
        name="forecast",
        mode="lines+markers",
        line={"color": FORECAST_COLOUR},
        marker={"size": 5},
        row=1,
        col=1,
    )
    if moved is not None:
        moved, forecast = np.asarray(moved, dtype=float), np.asarray(forecast, dtype=float)
        fig.add_scatter(
            x=t,
            y=moved,
            name=f"after one {name} descent step",
            mode="lines",
            line={"color": colour, "dash": "dot"},
            row=1,
            col=1,
        )
        step = np.abs(moved - forecast)
        for j in np.flatnonzero(step > 0.05 * step.max()):  # none when nothing moves
            fig.add_annotation(
                x=j,
                y=moved[j],
                ax=j,
                ay=forecast[j],
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                text="",
                showarrow=True,
                arrowhead=2,
                arrowsize=1,
                arrowwidth=2,
                arrowcolor=colour,
            )
    gradient = np.asarray(gradient, dtype=float)
    fig.add_bar(x=t, y=gradient, name=f"d {name} / d point", marker_color=colour, row=2, col=1)
    largest = np.abs(gradient).max()
    bound = 1.15 * largest if largest > NO_GRADIENT else 1.0
    if largest <= NO_GRADIENT:  # an axis scaled to float noise would draw it as a full push
        fig.add_annotation(
            text=f"no gradient: d {name} / d point ≈ 0 everywhere",
            xref="x2 domain",
            yref="y2 domain",
            x=0.5,
            y=0.8,
            showarrow=False,
        )
    fig.update_yaxes(title_text="value", row=1, col=1)
    fig.update_yaxes(
        title_text="gradient",
        range=[-bound, bound],
        zeroline=True,
        zerolinewidth=2,
        zerolinecolor=GUIDE_COLOUR,
        row=2,
        col=1,
    )
    fig.update_xaxes(title_text="time step", row=2, col=1)
    return _top_legend(fig, 460)


def loss_excess(x, excess: dict[str, np.ndarray], current: float, x_title: str, y_title: str) -> go.Figure:
    """Every loss's growth (name -> (K,) values over x, already minus its value at a reference x)
    on one shared axis, each in its colour; the current x marked."""
    fig = go.Figure()
    for name, values in excess.items():
        fig.add_scatter(
            x=x, y=values, name=name, mode="lines+markers", line={"color": loss_colour(name)}, marker={"size": 4}
        )
    fig.add_vline(x=current, line_color=GUIDE_COLOUR, line_dash="dot")
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, zeroline=True, zerolinecolor=GUIDE_COLOUR)
    return _top_legend(fig, 340)


def forecast_panel(target, forecast) -> go.Figure:
    """A small picture of one forecast (N,) over its target (N,), for side-by-side comparisons."""
    t = np.arange(len(target))
    fig = go.Figure()
    fig.add_scatter(x=t, y=target, name="target", line={"color": COLOURS["target"], "width": 4})
    fig.add_scatter(x=t, y=forecast, name="forecast", line={"color": FORECAST_COLOUR, "width": 2})
    fig.update_xaxes(title_text="time step")
    return _top_legend(fig, 240)


def gradient_grid(gradients: dict[str, np.ndarray]) -> go.Figure:
    """Every loss's gradient d loss / d point (name -> (N,)) in its own row and colour, on one time
    axis; each row symmetric about its drawn zero, scaled to its own largest push (their sizes
    differ by orders), which its label gives."""
    names = list(gradients)
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.03)
    for row, name in enumerate(names, start=1):
        gradient = np.asarray(gradients[name], dtype=float)
        largest = np.abs(gradient).max()
        pushes = largest > NO_GRADIENT
        fig.add_bar(
            x=np.arange(len(gradient)),
            y=gradient,
            name=name,
            marker_color=loss_colour(name),
            showlegend=False,
            row=row,
            col=1,
        )
        fig.update_yaxes(
            range=[-1.15 * largest, 1.15 * largest] if pushes else [-1, 1],
            showticklabels=False,
            zeroline=True,
            zerolinecolor=GUIDE_COLOUR,
            row=row,
            col=1,
        )
        axis = "" if row == 1 else str(row)
        fig.add_annotation(
            text=f"{name}: largest |gradient| {largest:.2g}" if pushes else f"{name}: no gradient",
            xref=f"x{axis} domain",
            yref=f"y{axis} domain",
            x=0,
            y=1,
            xanchor="left",
            yanchor="top",
            showarrow=False,
            font={"color": loss_colour(name)},
        )
    fig.update_xaxes(title_text="time step", row=len(names), col=1)
    return _top_legend(fig, 90 * len(names) + 50)


# The Paper page's figures: ours beside the paper's, the verdict of the paper's test as colour.
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
