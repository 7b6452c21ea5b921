"""Every plotly figure the app shows, as plain functions of arrays: testable without a browser.

Series are arrays of shape (length, d); only the first feature is drawn. Loss names are the
trainer's: 'mse', 'soft_dtw', 'dilate'; each has one colour everywhere.
"""

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from dilate_lab import paper
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
# The cost matrix and the soft path map: each one hue whose opacity grows with the value, so
# that 0 is the background and more is more colour in both maps and in either theme (a dark
# cell never means "cheap" in one map and "likely" in the other). No stop is one of Streamlit's
# placeholder colours (#000001-#000040), which its Plotly theme would replace; the soft map's
# steep start keeps small weights of a spread map visible.
SOFT_MAP_RGB = (126, 87, 194)
SOFT_MAP_SCALE = [
    [stop, "rgba({}, {}, {}, {:g})".format(*SOFT_MAP_RGB, opacity)]
    for stop, opacity in ((0.0, 0.0), (0.02, 0.2), (0.1, 0.45), (0.4, 0.8), (1.0, 1.0))
]
COST_RGB = (0, 137, 123)  # teal: apart from the soft map's purple and the path's red
COST_SCALE = [[stop, "rgba({}, {}, {}, {:g})".format(*COST_RGB, stop)] for stop in (0.0, 0.25, 0.5, 0.75, 1.0)]


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
