"""What one server process shares across its sessions: compiled kernels, limits and the job pool,
and each session's identity in that pool."""

import os
import uuid
from dataclasses import dataclass

import streamlit as st

from dilate_core import warmup
from explorer import charts, keys
from explorer.jobs import JobPool, LocalLauncher
from explorer.limits import Limits


@st.cache_resource(show_spinner="Compiling the kernels (once per server)...")
def compiled() -> bool:
    """numba kernels compiled (or loaded from the disk cache), and the live charts' plotly code
    loaded, once per server process."""
    warmup()
    charts.warmup()
    return True


@st.cache_resource
def limits() -> Limits:
    """This server's limits, from DILATE_* environment variables (see explorer/limits.py)."""
    return Limits.from_environment()


@st.cache_resource
def job_pool() -> JobPool:
    """The worker pool shared by every session, sized and bounded by `limits()`; its jobs run on the
    Ray cluster at DILATE_RAY_ADDRESS when that is set, else in local processes."""
    bounds = limits()
    if os.environ.get("DILATE_RAY_ADDRESS"):  # jobs on a Ray cluster instead of local processes
        from explorer.ray_jobs import RayLauncher

        launcher = RayLauncher(os.environ["DILATE_RAY_ADDRESS"], bounds.threads_per_worker)
    else:
        launcher = LocalLauncher(bounds.spare_workers)
    return JobPool(
        bounds.workers,
        threads_per_worker=bounds.threads_per_worker,
        max_queued_per_owner=bounds.runs_per_session,
        max_queued=bounds.runs_in_total,
        memory_mb=bounds.job_memory_mb or None,
        launcher=launcher,
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
    job_id = st.session_state.get(keys.JOB)
    job = job_pool().get(owner(), job_id) if job_id is not None else None
    return job_pool().poll(job) if job is not None else None
