"""The loss playground's figures (and the Overview's forecast panel), as plain functions of arrays.

Series are 1-D arrays of one feature, shape (N,); loss names are the playground's
('MSE', 'soft-DTW', 'temporal', 'DILATE', 'divergence', `LOSS_NAMES` there). Every loss's
gradient is drawn at one common scale (`playground.common_rate`), so that sizes compare.
"""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dilate_lab import playground
from explorer.charts import COLOURS

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
# st.plotly_chart's config: no mode bar. At 390 px it covers the legend row above the plot (and a
# tap shows it); dragging still zooms and a double tap resets.
CONFIG = {"displayModeBar": False}
ARROW_SHARE = 0.05  # arrows for the points a step moves by at least this share of its largest move


def loss_colour(name: str) -> str:
    """The colour of a playground loss ('MSE', 'soft-DTW', 'temporal', 'DILATE', 'divergence')."""
    return COLOURS.get(PLAYGROUND_LOSS_KEYS[name], TEMPORAL_COLOUR)


def _top_legend(fig: go.Figure, height: int) -> go.Figure:
    """No title; the legend in a row above the plot, where narrow screens wrap it without overlap."""
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, legend=_TOP_LEGEND)
    return fig


def size_note(name: str, gradients: dict[str, np.ndarray]) -> str | None:
    """What a loss's gradient is at the losses' common scale, in words, when its bars and arrows
    would not show it: no gradient, or practically 0 with its size against the largest; None if it pushes."""
    size = playground.push_size(gradients[name], gradients)
    largest = float(np.abs(gradients[name]).max())
    if size == "none":
        return f"{name}: no gradient (|d {name} / d point| ≈ 0 everywhere)"
    if size == "practically 0":
        top_name = max(gradients, key=lambda n: np.abs(gradients[n]).max())
        top = float(np.abs(gradients[top_name]).max())
        return (
            f"{name}: practically 0 at this scale, largest |gradient| {largest:.3g} "
            f"({largest / top:.2%} of {top_name}'s {top:.3g})"
        )
    return None


def gradient_view(target, forecast, gradients: dict[str, np.ndarray], name: str, rate: float) -> go.Figure:
    """What one loss pushes, at the scale every loss shares: above, the target and forecast (N,)
    with arrows to where one descent step of learning rate `rate` (the same for every loss) moves
    each point; below, the gradient d loss / d point as bars, on an axis symmetric about zero that
    holds the largest push of all the losses (`gradients`, name -> (N,)). A loss whose push is 0 or
    practically 0 at that scale gets no arrows and a note giving its size."""
    t = np.arange(len(target))
    colour = loss_colour(name)
    gradient = np.asarray(gradients[name], dtype=float)
    forecast = np.asarray(forecast, dtype=float)
    note = size_note(name, gradients)
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
    if note is None:
        moved = playground.descent_step(forecast, gradient, rate)
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
        for j in np.flatnonzero(step >= ARROW_SHARE * step.max()):
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
    fig.add_bar(x=t, y=gradient, name=f"d {name} / d point", marker_color=colour, row=2, col=1)
    top = max(float(np.abs(g).max()) for g in gradients.values())
    bound = 1.15 * top if top > playground.NO_GRADIENT else 1.0
    if note is not None:  # bars and arrows at float-noise size would not show; say it
        fig.add_annotation(text=note, xref="x2 domain", yref="y2 domain", x=0.5, y=0.85, showarrow=False)
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
    axis and one common scale: every row symmetric about its drawn zero and holding the largest
    push of all the losses, so that bar heights compare across rows. Each row's label gives its
    largest push, or says that it is 0 or practically 0 at this scale."""
    names = list(gradients)
    top = max(float(np.abs(g).max()) for g in gradients.values())
    bound = 1.15 * top if top > playground.NO_GRADIENT else 1.0
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.03)
    for row, name in enumerate(names, start=1):
        gradient = np.asarray(gradients[name], dtype=float)
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
            range=[-bound, bound],
            showticklabels=False,
            zeroline=True,
            zerolinecolor=GUIDE_COLOUR,
            row=row,
            col=1,
        )
        axis = "" if row == 1 else str(row)
        fig.add_annotation(
            text=size_note(name, gradients) or f"{name}: largest |gradient| {np.abs(gradient).max():.3g}",
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
