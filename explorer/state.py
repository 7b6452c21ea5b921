"""Session state, the shared job pool, cached loaders and URL query parameters for the pages.

Shared values live in plain session_state keys prefixed by page ('data.', 'train.', ...),
never only in widget keys, since Streamlit drops a widget's value when its page is not shown.
"""

import os
import uuid
from dataclasses import dataclass

import numpy as np
import streamlit as st

from dilate_core import data, metrics, warmup
from dilate_core.losses import cost_matrix, soft_alignment
from dilate_core.train import Trainer
from explorer.jobs import JobPool
from explorer.limits import Limits

DATA_KEY, VERSION_KEY, JOB_KEY = "data.dataset", "data.version", "train.job_id"
GAMMA_CHOICES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]  # soft-DTW temperatures offered by the sliders


@st.cache_resource(show_spinner="Compiling the kernels (once per server)...")
def compiled() -> bool:
    """numba kernels compiled (or loaded from the disk cache) once per server process."""
    warmup()
    return True


@st.cache_resource
def limits() -> Limits:
    """This server's limits, from DILATE_* environment variables (see explorer/limits.py)."""
    return Limits.from_environment()


@st.cache_resource
def job_pool() -> JobPool:
    """The worker pool shared by every session, sized and bounded by `limits()`."""
    bounds = limits()
    return JobPool(
        bounds.workers or os.cpu_count() or 1,
        threads_per_worker=bounds.threads_per_worker,
        max_queued_per_owner=bounds.runs_per_session,
        max_queued=bounds.runs_in_total,
        memory_mb=bounds.job_memory_mb or None,
    )


@dataclass(frozen=True)
class _Visitor:
    """A session's id with the pool its jobs run in: released outside any script run, where
    `job_pool()` must not be called (it could build a second pool)."""

    id: str
    pool: JobPool


def _release_session(visitor: _Visitor) -> None:
    visitor.pool.stop_all(visitor.id)


@st.cache_resource(scope="session", on_release=_release_session)
def _visitor() -> _Visitor:
    return _Visitor(uuid.uuid4().hex, job_pool())


def owner() -> str:
    """This session's id for the job pool; when the session ends its jobs are stopped."""
    return _visitor().id


def current_job():
    """This session's current job (polled), or None."""
    job_id = st.session_state.get(JOB_KEY)
    job = job_pool().get(owner(), job_id) if job_id is not None else None
    return job_pool().poll(job) if job is not None else None


def query_value(name: str, default, low=None, high=None, choices=None):
    """A setting from the URL's query parameters, cast like `default` and kept in bounds.

    A missing or malformed value gives the default: a shared link never breaks a page.
    """
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        value = type(default)(raw)
    except (TypeError, ValueError):
        return default
    if choices is not None and value not in choices:
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not np.isfinite(value):
            return default
        bounded = min(max(value, low if low is not None else value), high if high is not None else value)
        if bounded != value:
            st.warning(f"The link asks for {name} = {raw}; this server allows {low} to {high}, so {bounded} is used.")
        value = bounded
    return value


def set_query(drop: tuple[str, ...] = (), **values) -> None:
    """Write settings into the URL so the view can be shared by its link; remove the names in `drop`."""
    for name in drop:
        if name in st.query_params and name not in values:
            del st.query_params[name]
    for name, value in values.items():
        text = str(value)
        if st.query_params.get(name) != text:
            st.query_params[name] = text


@st.cache_data(max_entries=16, show_spinner="Generating series...")
def synthetic(n: int, n_input: int, n_output: int, sigma: float, seed: int, noise: str) -> data.Dataset:
    return data.make_synthetic(n, n_input, n_output, sigma, seed, noise)


@st.cache_data(max_entries=4, show_spinner="Loading ECG5000...")
def ecg5000(n_input: int) -> data.Dataset:
    return data.load_ecg5000(n_input)


@st.cache_data(max_entries=8, show_spinner="Loading ETTh1...")
def etth1(column: str, n_input: int, n_output: int, stride: int) -> data.Dataset:
    return data.load_etth1(column, n_input, n_output, stride)


def uploaded_csv(raw: bytes, n_input: int, n_output: int, stride: int) -> tuple[data.Dataset | None, str | None]:
    """A user's CSV as a data set, or None and the reason it was rejected."""
    try:
        return data.load_csv(raw, n_input, n_output, stride, max_bytes=limits().upload_mb * 2**20), None
    except ValueError as error:
        return None, str(error)


@st.cache_resource(max_entries=4, show_spinner="Loading the trained models...")
def trained(job_id: int, epoch: int, _checkpoint: bytes, _dataset: data.Dataset) -> Trainer:
    """The models of a finished job, for predictions in the page (keyed by job and epoch)."""
    import io

    return Trainer.load(io.BytesIO(_checkpoint), _dataset)


def alignment_views(target: np.ndarray, forecast: np.ndarray, gamma: float) -> dict:
    """Cost matrix, DTW path, soft alignment and metrics of one forecast: target (N, d), forecast (M, d)."""
    import torch

    t = torch.tensor(np.asarray(target, dtype=np.float64))[None]  # copies: cached arrays are read-only
    p = torch.tensor(np.asarray(forecast, dtype=np.float64))[None]
    D = cost_matrix(t, p)  # (1, N, M)
    scores, paths = metrics.per_series_with_paths(p, t)
    return {
        "D": D[0].numpy(),
        "path": paths[0],
        "E": soft_alignment(D, gamma)[0].numpy(),
        "scores": {name: float(values[0]) for name, values in scores.items()},
    }
