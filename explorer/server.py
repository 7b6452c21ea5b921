"""What one server process shares across its sessions: compiled kernels, limits and the job pool,
and each session's identity in that pool."""

import logging
import os
import uuid
from dataclasses import dataclass

import streamlit as st

from explorer import charts, cost, keys
from explorer.jobs import JobPool
from explorer.kernels import Compiler
from explorer.launcher import LocalLauncher
from explorer.limits import Limits
from explorer.worker import TRAINING_KERNELS

log = logging.getLogger(__name__)


def _log_to_the_servers_output() -> None:
    """The app's own records (explorer.*: jobs started, stopped at their budget, failed with their
    traceback; kernels ready) in the server's output beside Streamlit's, once per process."""
    app_log = logging.getLogger("explorer")
    if not app_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        app_log.addHandler(handler)
        app_log.setLevel(logging.INFO)


_log_to_the_servers_output()


@st.cache_resource(show_spinner=False)
def compiler() -> Compiler:
    """The kernels of this server process, compiled in the background from its first visit on
    (see explorer/kernels.py), then what first visits would otherwise wait for; nothing waits for it."""
    log.info("compiling the kernels in the background")
    return Compiler(then=_after_the_kernels)


def _after_the_kernels() -> None:
    """The live charts' plotly code loaded, and the Train form's expected duration calibrated for
    its default settings (a second of training in this process, which a first Train visit waited for)."""
    from dilate_lab.train import Config

    charts.warmup()
    cost.calibration(Config())


def kernels(*groups: str) -> None:
    """Wait for the kernel groups a page needs next (explorer.kernel_plan.KERNEL_GROUPS), behind a spinner
    only when they are not ready yet: a fresh server's first visit of such a page."""
    if compiler().ready(groups):
        return
    with st.spinner("Compiling the kernels this needs (once per server, up to a minute)..."):
        compiler().wait(groups)


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
        # Its spares start once the kernels they load are compiled, in their turn: a page that
        # trains wants them first (app.PAGE_KERNELS), the pool made before any visit does not.
        kernels = compiler()
        launcher = LocalLauncher(bounds.spares(), after=lambda: kernels.wait(TRAINING_KERNELS, wanted=False))
    return JobPool(
        bounds.workers,
        threads_per_worker=bounds.threads_per_worker,
        max_queued_per_owner=bounds.runs_per_session,
        max_queued=bounds.runs_in_total,
        memory_mb=bounds.job_memory_mb or None,
        launcher=launcher,
        max_job_seconds=bounds.max_job_seconds or None,
        estimate=_estimate,
        learn=cost.learn,
    )


def _estimate(config, dataset, epochs: int) -> float:
    compiler().wait(("training",))  # the calibration trains with them
    return cost.estimate(config, dataset, epochs)


def expected_duration(values: dict, dataset) -> str | None:
    """A sentence for the Train form: how long a run of these settings should take here, and the
    server's limit; None when the settings do not make a run."""
    from dilate_lab.train import Config

    try:
        config = Config(**((st.session_state.get(keys.DATA_SETTINGS) or {}) | values))
    except (TypeError, ValueError):
        return None
    if not compiler().ready(("training",)):  # a fresh server's first minute: the form does not wait for them
        return "Expected duration on this server: known once its training kernels are compiled (once per server)."
    seconds = _estimate(config, dataset, config.epochs)
    budget = limits().max_job_seconds
    text = f"Expected duration on this server: about {cost.duration_text(seconds)}"
    if budget:
        over = " — over it: lower the epochs, series or hidden units" if seconds > budget else ""
        text += f" (a run may take up to {cost.duration_text(budget)}{over})"
    return text + "."


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
