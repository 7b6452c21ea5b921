"""The training replay: for one test series, each model's forecast, its DTW path on the cost matrix
and its soft path map, evaluation after evaluation, as one plotly figure with an epoch slider and a
play button. The frames are computed here, once; the browser plays them without asking the server.
"""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dilate_core.metrics import alignment_views
from dilate_lab.playground import closest_cheapest_path
from dilate_lab.settings import LOSS_LABELS
from explorer.charts import COLOURS, COST_SCALE, SOFT_MAP_SCALE

PLAY_SECONDS = 10.0  # the whole run, played
FRAME_MS = 300  # at least, per frame: a browser draws a frame of six heatmaps in about 0.2 s, and a frame
# shown before the last one is drawn leaves its heatmaps blank
FRAME_BUDGET = 300_000  # matrix cells sent over all frames: ECG5000's 56 x 56 matrices get fewer frames
MIN_FRAMES, MAX_FRAMES = 10, 34  # at FRAME_MS, about PLAY_SECONDS in all
ROW_HEIGHT = 270  # px per model


def replay_epochs(epochs: list[int], n: int, m: int, n_losses: int) -> list[int]:
    """The evaluations a replay draws: all of them when the matrices are small, else evenly spread
    ones (the first and the last always), so that the figure stays a few MB at most."""
    fits = FRAME_BUDGET // max(1, 2 * n_losses * n * m)
    count = min(len(epochs), max(MIN_FRAMES, min(MAX_FRAMES, fits)))
    picked = np.unique(np.linspace(0, len(epochs) - 1, count).round().astype(int))
    return [epochs[k] for k in picked]


def _views(target, forecasts: dict, gamma: float) -> dict:
    """loss -> its alignment views, the path drawn being the cheapest one closest to the diagonal
    (where a lag happens, not where DTW's tie-break puts it)."""
    views = {name: alignment_views(target, forecast, gamma) for name, forecast in forecasts.items()}
    for view in views.values():
        view["path"] = closest_cheapest_path(view["D"])
    return views


def _dynamic(view: dict, forecast, t_out: np.ndarray, t0: int) -> list:
    """The traces of one model that change from frame to frame, in the order `replay` adds them."""
    path = np.asarray(view["path"]) + t0
    y = np.asarray(forecast, dtype=float).reshape(len(forecast), -1)[:, 0]
    return [
        go.Scatter(x=t_out, y=y),
        go.Heatmap(z=np.round(view["D"], 4)),
        go.Scatter(x=path[:, 1], y=path[:, 0]),
        go.Heatmap(z=np.round(view["E"], 3)),
        go.Scatter(x=path[:, 1], y=path[:, 0]),
    ]


def replay(x, y, history: list[tuple[int, dict]], gamma: float, breakpoint: int | None = None) -> go.Figure:
    """The replay figure of one test series.

    x : (n_input, d) input, y : (n_output, d) target; history : [(epoch, {loss: forecast (n_output, d)})]
    in epoch order, one entry per evaluation drawn; gamma : the soft path map's temperature. Rows are
    the models, columns the forecast, the cost matrix with the DTW path and the soft path map. The
    figure opens on the last epoch; the slider picks any epoch, Play runs them all in PLAY_SECONDS.
    """
    names = list(history[-1][1])
    n_input, n_output = len(x), len(y)
    t_in, t_out = np.arange(n_input), np.arange(n_input, n_input + n_output)
    steps = np.arange(n_input, n_input + n_output)
    views = [_views(y, forecasts, gamma) for _, forecasts in history]
    # One colour range for every cost matrix of every frame: the top 5% of costs saturate.
    zmax = float(np.percentile([v["D"] for frame in views for v in frame.values()], 95)) or 1.0
    # No subplot titles (a phone's two-line legend would cover them): each row is named by its y axis,
    # each column by its x axis under the last row.
    fig = make_subplots(rows=len(names), cols=3, horizontal_spacing=0.08, vertical_spacing=0.25 / len(names))
    dynamic_index, last = [], views[-1]
    for row, name in enumerate(names, start=1):
        first_row = row == 1
        fig.add_scatter(
            x=t_in, y=np.asarray(x)[:, 0], name="input", line={"color": COLOURS["input"], "dash": "dot"},
            showlegend=first_row, legendgroup="input", row=row, col=1,
        )  # fmt: skip
        fig.add_scatter(
            x=t_out, y=np.asarray(y)[:, 0], name="target", line={"color": COLOURS["target"], "width": 3},
            showlegend=first_row, legendgroup="target", row=row, col=1,
        )  # fmt: skip
        start = len(fig.data)
        forecast, cost, cost_path, soft, soft_path = _dynamic(last[name], history[-1][1][name], t_out, n_input)
        forecast.update(name=LOSS_LABELS.get(name, name), line={"color": COLOURS.get(name)}, meta=name)
        fig.add_trace(forecast, row=row, col=1)
        cost.update(x=steps, y=steps, zmin=0.0, zmax=zmax, colorscale=COST_SCALE, showscale=False)
        fig.add_trace(cost, row=row, col=2)
        path_style = {"mode": "lines", "line": {"color": COLOURS["path"], "width": 2}, "legendgroup": "path"}
        cost_path.update(name="DTW path", showlegend=first_row, **path_style)
        fig.add_trace(cost_path, row=row, col=2)
        soft.update(x=steps, y=steps, zmin=0.0, zmax=1.0, colorscale=SOFT_MAP_SCALE, showscale=False)
        fig.add_trace(soft, row=row, col=3)
        soft_path.update(name="DTW path", showlegend=False, **path_style)
        fig.add_trace(soft_path, row=row, col=3)
        dynamic_index += list(range(start, len(fig.data)))
        fig.update_yaxes(title_text=LOSS_LABELS.get(name, name), row=row, col=1)
        if breakpoint is not None and n_input <= breakpoint < n_input + n_output:
            fig.add_vline(x=breakpoint, line_dash="dot", line_color=COLOURS["breakpoint"], row=row, col=1)
        for col in (2, 3):
            fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain", row=row, col=col)
            fig.update_yaxes(
                autorange="reversed", showgrid=False, zeroline=False, constrain="domain", row=row, col=col,
                showticklabels=col == 2,  # the soft map's steps are the cost matrix's, beside it
                scaleanchor=f"x{3 * (row - 1) + col}",  # its own x axis: square cells
            )  # fmt: skip
    for col, title in enumerate(("forecast: time step", "cost and DTW path", "soft path map"), start=1):
        fig.update_xaxes(title_text=title, row=len(names), col=col)
    fig.frames = [
        go.Frame(
            name=str(epoch),
            data=[t for name in names for t in _dynamic(frame[name], forecasts[name], t_out, n_input)],
            traces=dynamic_index,
        )
        for (epoch, forecasts), frame in zip(history, views, strict=True)
    ]
    _controls(fig, [epoch for epoch, _ in history])
    fig.update_layout(
        height=ROW_HEIGHT * len(names) + 170,
        margin={"l": 10, "r": 10, "t": 60, "b": 90},  # room for Play and the slider under the axis titles
        legend={"orientation": "h", "yref": "container", "y": 1, "yanchor": "top", "x": 0},
    )
    return fig


def frame_ms(n_frames: int) -> int:
    """How long Play shows each of n_frames: PLAY_SECONDS for them all, but FRAME_MS at least."""
    return max(FRAME_MS, int(1000 * PLAY_SECONDS / max(1, n_frames)))


def play_seconds(n_frames: int) -> float:
    """How long Play takes to show n_frames."""
    return n_frames * frame_ms(n_frames) / 1000


def _controls(fig: go.Figure, epochs: list[int]) -> None:
    """A play and a pause button and an epoch slider under the figure, opened on the last epoch."""
    per_frame = frame_ms(len(epochs))
    jump = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    play = {"frame": {"duration": per_frame, "redraw": True}, "transition": {"duration": 0}, "mode": "immediate"}
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 0,
                "y": 0,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 60},  # below the last row's axis titles
                "showactive": False,
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [[str(e) for e in epochs], play]},
                    {"label": "❚❚ Pause", "method": "animate", "args": [[None], jump]},
                ],
            }
        ],
        sliders=[
            {
                "active": len(epochs) - 1,
                "x": 0.18,
                "len": 0.82,
                "y": 0,
                "yanchor": "top",
                "pad": {"t": 50},
                "currentvalue": {"prefix": "epoch "},
                "steps": [{"label": str(e), "method": "animate", "args": [[str(e)], jump]} for e in epochs],
            }
        ],
    )
