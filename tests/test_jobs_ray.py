"""The app's job pool on a real two-node Ray cluster (conftest's ray_cluster): live reports, a
checkpoint, Stop, the queue and a failing job, as with local worker processes."""

import io
import time

import pytest

from dilate_core.data import make_synthetic
from dilate_lab.train import Trainer
from explorer.jobs import DONE, FAILED, FINAL_STATES, QUEUED, RUNNING, STOPPED, JobPool
from tests.test_jobs import CONFIG, DATA, wait

pytest.importorskip("ray")
from explorer.ray_jobs import RayLauncher  # noqa: E402

pytestmark = pytest.mark.slow  # a Ray cluster


@pytest.fixture(scope="module")
def pool(ray_cluster):
    pool = JobPool(workers=1, max_queued_per_owner=2, launcher=RayLauncher(ray_cluster.address))
    yield pool
    pool.shutdown()


def test_a_job_on_ray_streams_reports_and_ends_with_a_checkpoint(pool):
    job = pool.submit("alice", CONFIG, DATA, epochs=3)
    wait(pool, job, FINAL_STATES)
    assert job.state == DONE and [r["epoch"] for r in job.reports] == [0, 1, 2, 3]  # 0: before training
    trainer = Trainer.load(io.BytesIO(job.checkpoint), DATA)
    assert trainer.epoch == 3 and trainer.reports[-1].train == job.reports[-1]["train"]


def test_stop_and_the_queue_work_on_ray(pool):
    long = pool.submit("bob", CONFIG, DATA, epochs=2000)
    queued = pool.submit("carol", CONFIG, DATA, epochs=1)
    wait(pool, long, (RUNNING,))
    assert queued.state == QUEUED and pool.place_in_queue(queued) == 1  # one job at a time
    while len(pool.poll(long).reports) < 2:
        time.sleep(0.1)
    pool.stop("bob", long.id)
    wait(pool, long, FINAL_STATES)
    assert long.state == STOPPED and 2 <= len(long.reports) < 2000 and long.checkpoint is not None
    assert wait(pool, queued, FINAL_STATES).state == DONE


def test_an_error_in_a_job_on_ray_is_reported_to_its_session(pool):
    bad = make_synthetic(30)
    bad.test_y = bad.test_y[:5]
    job = pool.submit("dave", CONFIG, bad, epochs=2)
    wait(pool, job, FINAL_STATES)
    assert job.state == FAILED and "same batch size" in job.error
