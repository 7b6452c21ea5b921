"""The worker pool: jobs run outside the caller, stream reports, stop, continue, stay private."""

import io
import time

import pytest

from dilate_core.data import make_synthetic
from dilate_core.train import Config, Trainer
from explorer.jobs import DONE, FINAL_STATES, QUEUED, RUNNING, STOPPED, JobPool

CONFIG = Config(n_series=30, batch_size=10, hidden=8, eval_every=1, epochs=3)
DATA = make_synthetic(30)


@pytest.fixture(scope="module")
def pool():
    pool = JobPool(workers=1)
    yield pool
    pool.shutdown()


def wait(pool, job, states, timeout=120):
    deadline = time.time() + timeout
    while pool.poll(job).state not in states:
        assert time.time() < deadline, f"job stayed {job.state}"
        time.sleep(0.1)
    return job


def test_a_job_streams_reports_and_ends_with_a_checkpoint(pool):
    job = pool.submit("alice", CONFIG, DATA, epochs=3)
    wait(pool, job, FINAL_STATES)
    assert job.state == DONE and [r["epoch"] for r in job.reports] == [1, 2, 3]
    trainer = Trainer.load(io.BytesIO(job.checkpoint), DATA)
    assert trainer.epoch == 3 and trainer.reports[-1].train == job.reports[-1]["train"]
    # continuing runs the next epochs from the checkpoint
    more = pool.submit("alice", CONFIG, DATA, epochs=2, checkpoint=job.checkpoint, start_epoch=job.epoch)
    wait(pool, more, FINAL_STATES)
    assert [r["epoch"] for r in more.reports] == [4, 5] and more.epoch == 5


def test_sessions_cannot_see_or_stop_each_others_jobs_and_stop_works(pool):
    long = pool.submit("alice", CONFIG, DATA, epochs=500)
    queued = pool.submit("bob", CONFIG, DATA, epochs=2)
    assert pool.get("bob", long.id) is None and long not in pool.jobs("bob")
    assert pool.stop("bob", long.id) is False
    wait(pool, long, (RUNNING,))
    assert pool.place_in_queue(queued) == 1 and queued.state == QUEUED
    assert pool.stop("alice", long.id) is True
    wait(pool, long, FINAL_STATES)
    assert long.state == STOPPED and 1 <= len(long.reports) < 500 and long.checkpoint is not None
    wait(pool, queued, FINAL_STATES)
    assert queued.state == DONE and pool.place_in_queue(queued) == 0


def test_stop_all_ends_a_closed_sessions_jobs(pool):
    job = pool.submit("carol", CONFIG, DATA, epochs=500)
    wait(pool, job, (RUNNING,))
    pool.stop_all("carol")
    wait(pool, job, FINAL_STATES)
    assert job.state == STOPPED


def test_a_failing_job_is_reported_to_its_session_only(pool):
    bad = make_synthetic(30)
    bad.test_y = bad.test_y[:5]  # inconsistent data: evaluation fails inside the worker
    job = pool.submit("dave", CONFIG, bad, epochs=2)
    wait(pool, job, FINAL_STATES)
    assert job.state == "failed" and job.error
    after = pool.submit("erin", CONFIG, DATA, epochs=1)
    assert wait(pool, after, FINAL_STATES).state == DONE
