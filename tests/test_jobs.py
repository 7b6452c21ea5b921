"""The worker pool: jobs run in their own processes, stream reports, stop, continue, stay private,
fail alone, and respect the server's limits."""

import io
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time

import numpy as np
import pytest

from dilate_core import metrics
from dilate_core.data import make_synthetic
from dilate_lab.train import Config, Trainer
from explorer.jobs import DONE, FAILED, FINAL_STATES, QUEUED, RUNNING, STOPPED, Job, JobPool
from explorer.launcher import LocalLauncher
from explorer.limits import LimitError, Limits
from explorer.worker import WORKER_NICENESS, JobSpec, run_job
from tests.proc import alive, children, wait_until

pytestmark = pytest.mark.slow  # every test starts worker processes

CONFIG = Config(n_series=30, batch_size=10, hidden=8, eval_every=1, epochs=3)
DATA = make_synthetic(30)


@pytest.fixture(scope="module")
def pool():
    pool = JobPool(workers=1, max_queued_per_owner=2, max_queued=4, memory_mb=4096)
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
    wait(pool, job, (RUNNING, *FINAL_STATES))
    assert job.pid != os.getpid() and job.pid in children(os.getpid())  # a process of its own
    wait(pool, job, FINAL_STATES)
    # First the models before training (all alike, every forecast the same), then one report per epoch.
    assert job.state == DONE and [r["epoch"] for r in job.reports] == [0, 1, 2, 3]
    initial = job.reports[0]
    assert initial["train"] == {} and len({str(p) for p in initial["previews"].values()}) == 1
    assert initial["test"] == Trainer(CONFIG, DATA).initial_report().test
    trainer = Trainer.load(io.BytesIO(job.checkpoint), DATA)
    assert trainer.epoch == 3 and trainer.reports[-1].train == job.reports[-1]["train"]
    more = pool.submit("alice", CONFIG, DATA, epochs=2, checkpoint=job.checkpoint, start_epoch=job.epoch)
    wait(pool, more, FINAL_STATES)
    assert [r["epoch"] for r in more.reports] == [4, 5] and more.epoch == 5  # a continued run: no initial report


def test_a_finished_job_brings_every_test_series_scores_equal_to_a_recomputation_from_its_checkpoint(pool):
    job = wait(pool, pool.submit("alice", CONFIG, DATA, epochs=2), FINAL_STATES)
    scores = job.results[("per_series", job.epoch)]  # what Results and Alignments read, without scoring
    forecasts = Trainer.load(io.BytesIO(job.checkpoint), DATA).predict(DATA.test_x)
    for name, forecast in forecasts.items():
        recomputed = metrics.per_series(forecast, DATA.test_y)
        for metric in ("mse", "dtw", "tdi"):
            np.testing.assert_allclose(scores[name][metric], recomputed[metric], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(scores[name]["flatness"], metrics.flatness(forecast, DATA.test_y), rtol=1e-6)


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


def test_a_queued_job_stopped_never_runs(pool):
    first = pool.submit("carol", CONFIG, DATA, epochs=500)
    second = pool.submit("carol", CONFIG, DATA, epochs=5)
    pool.stop_all("carol")  # the session ended
    wait(pool, first, FINAL_STATES)
    assert second.state == STOPPED and second.reports == [] and second.pid is None
    assert first.state == STOPPED


def test_a_killed_worker_fails_its_job_alone_and_the_slot_is_reused(pool):
    doomed = pool.submit("dave", CONFIG, DATA, epochs=500)
    wait(pool, doomed, (RUNNING,))
    after = pool.submit("erin", CONFIG, DATA, epochs=1)
    os.kill(doomed.pid, signal.SIGKILL)
    wait(pool, doomed, FINAL_STATES)
    assert doomed.state == FAILED and "stopped unexpectedly" in doomed.error
    assert wait(pool, after, FINAL_STATES).state == DONE  # the next job got the worker
    assert pool.get("erin", doomed.id) is None


def test_an_error_in_a_job_is_reported_to_its_session(pool):
    bad = make_synthetic(30)
    bad.test_y = bad.test_y[:5]  # inconsistent data: the evaluation fails inside the worker
    job = pool.submit("frank", CONFIG, bad, epochs=2)
    wait(pool, job, FINAL_STATES)
    assert job.state == FAILED and "same batch size" in job.error
    # The whole traceback, from the worker's run_job down to the check that raised, reaches the job.
    assert job.traceback.startswith("Traceback (most recent call last)")
    assert "in run_job" in job.traceback and "in check_series_pair" in job.traceback
    assert job.traceback.rstrip().endswith(job.error.split(": ", 1)[1])


def _echo(connection) -> None:
    """A worker stand-in: take a JobSpec, use its channel and stop event, send it back."""
    spec = connection.recv()
    spec.channel.put(("echo", spec.epochs))
    spec.stop.set()
    connection.send(spec)


def test_a_job_spec_travels_to_a_worker_and_back():
    launcher = LocalLauncher(spares=0)
    try:
        channel, stop = launcher.channel_and_stop()
        spec = JobSpec(CONFIG.__dict__.copy(), DATA, b"checkpoint", 7, channel, stop, threads=2, memory_mb=512)
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_echo, args=(child,))
        process.start()
        parent.send(spec)
        back = parent.recv()
        process.join(timeout=60)
        assert channel.get(timeout=10) == ("echo", 7) and stop.is_set()  # the worker used the same queue and event
        assert (back.config, back.checkpoint, back.epochs, back.threads, back.memory_mb) == (
            spec.config,
            b"checkpoint",
            7,
            2,
            512,
        )
        assert (back.dataset.train_x == DATA.train_x).all() and (back.dataset.test_breaks == DATA.test_breaks).all()
        with pytest.raises(AttributeError):  # frozen: what a worker was sent cannot change under it
            spec.epochs = 8
        assert pickle.loads(pickle.dumps(spec)).epochs == 7
    finally:
        launcher.shutdown()


def test_a_failure_before_training_sends_its_traceback_on_the_channel():
    launcher = LocalLauncher(spares=0)
    try:
        channel, stop = launcher.channel_and_stop()
        spec = JobSpec({"epochs": -1}, DATA, None, 1, channel, stop)  # not a valid Config
        process = multiprocessing.get_context("spawn").Process(target=run_job, args=(spec,))
        process.start()
        process.join(timeout=120)
        kind, (message, trace) = channel.get(timeout=10)
        assert kind == "failed" and message.startswith("ValueError: ") and "epochs" in message
        assert "in run_job" in trace and trace.rstrip().endswith(message)
    finally:
        launcher.shutdown()


def test_a_worker_sends_epoch_0s_forecasts_before_its_test_metrics_and_the_pool_completes_the_report():
    # Forecasting every test series takes seconds on ECG5000: the first chart must not wait for it.
    launcher = LocalLauncher(spares=0)
    try:
        channel, stop = launcher.channel_and_stop()
        spec = JobSpec(CONFIG.__dict__.copy(), DATA, None, 1, channel, stop)
        process = multiprocessing.get_context("spawn").Process(target=run_job, args=(spec,))
        process.start()
        process.join(timeout=120)
        messages = [channel.get(timeout=10) for _ in range(6)]
        assert [kind for kind, _ in messages] == ["started", "report", "report", "report", "scores", "finished"]
        first, completed, epoch_1 = (payload for _, payload in messages[1:4])
        expected = Trainer(CONFIG, DATA).initial_report()
        assert first["epoch"] == completed["epoch"] == 0 and first["test"] is None
        assert first["previews"] == completed["previews"] and epoch_1["epoch"] == 1
        for name, forecasts in expected.previews.items():  # this process's threads round otherwise
            np.testing.assert_allclose(completed["previews"][name], forecasts, rtol=1e-5)
            assert completed["test"][name] == pytest.approx(expected.test[name], rel=1e-4)
        # The pool keeps one report per epoch: the completed one in the place of the first.
        job = Job(1, "ada", CONFIG, 1, 0)
        job._channel = queue.Queue()
        for message in messages[1:4]:
            job._channel.put(message)
        JobPool(workers=1, launcher=launcher)._take_messages(job)
        assert [r["epoch"] for r in job.reports] == [0, 1] and job.reports[0] == completed
    finally:
        launcher.shutdown()


def test_a_run_predicted_over_the_budget_is_refused_with_the_number_and_what_to_lower():
    seconds_per_epoch = 5.0
    budgeted = JobPool(
        workers=1,
        launcher=LocalLauncher(spares=0),
        max_job_seconds=12,
        estimate=lambda config, dataset, epochs: seconds_per_epoch * epochs,
    )
    try:
        with pytest.raises(LimitError) as refused:
            budgeted.submit("lea", CONFIG, DATA, epochs=3)
        assert "about 15 s" in str(refused.value) and "the 12 s a run may take on this server" in str(refused.value)
        assert "lower the epochs to 2 or fewer" in str(refused.value)
        assert budgeted.jobs("lea") == []
        fitting = budgeted.submit("lea", CONFIG, DATA, epochs=2)  # 10 s: within the budget
        assert fitting.predicted_s == 10.0 and fitting.budget_s == 12
        budgeted.stop("lea", fitting.id)
    finally:
        budgeted.shutdown()


def test_a_running_job_past_its_budget_stops_as_stop_would_and_keeps_its_results():
    budgeted = JobPool(workers=1, launcher=LocalLauncher(spares=0), max_job_seconds=3)  # no estimate: never refused
    try:
        job = budgeted.submit("max", CONFIG, DATA, epochs=100_000)
        wait(budgeted, job, FINAL_STATES)
        assert job.state == STOPPED and job.over_budget and job.error is None
        assert 1 <= job.epoch < 100_000 and job.checkpoint is not None
        trainer = Trainer.load(io.BytesIO(job.checkpoint), DATA)  # what it learned until then is kept
        assert trainer.epoch == job.epoch and trainer.reports[-1].train == job.reports[-1]["train"]
    finally:
        budgeted.shutdown()


def test_every_job_that_ends_done_or_stopped_is_told_with_its_reports_and_a_failed_one_is_not():
    told = []
    pool = JobPool(
        workers=1,
        launcher=LocalLauncher(spares=0),
        learn=lambda config, dataset, reports: told.append((config, dataset, [r["epoch"] for r in reports])),
    )
    try:
        done = wait(pool, pool.submit("una", CONFIG, DATA, epochs=2), FINAL_STATES)
        assert done.state == DONE and told == [(CONFIG, DATA, [0, 1, 2])]
        stopped = pool.submit("una", CONFIG, DATA, epochs=100_000)
        wait(pool, stopped, (RUNNING,))
        wait_until(lambda: pool.poll(stopped).epoch >= 1, 60)
        pool.stop("una", stopped.id)
        wait(pool, stopped, FINAL_STATES)
        assert stopped.state == STOPPED and told[1][2] == [r["epoch"] for r in stopped.reports]
        broken = make_synthetic(30)
        broken.test_y = broken.test_y[:5]  # inconsistent data: the evaluation fails inside the worker
        failed = wait(pool, pool.submit("una", CONFIG, broken, epochs=2), FINAL_STATES)
        assert failed.state == FAILED and len(told) == 2
    finally:
        pool.shutdown()


def test_a_queued_job_learns_its_expected_wait_from_the_jobs_ahead_of_it():
    predicted = 50.0
    pool = JobPool(
        workers=1,
        launcher=LocalLauncher(spares=0),
        max_queued_per_owner=1,
        estimate=lambda config, dataset, epochs: predicted,
    )
    try:
        running = pool.submit("ned", CONFIG, DATA, epochs=100_000)
        wait(pool, running, (RUNNING,))
        first, second = pool.submit("ola", CONFIG, DATA, epochs=1), pool.submit("pia", CONFIG, DATA, epochs=1)
        waits = pool.expected_wait(first), pool.expected_wait(second)
        assert waits[0] > 0  # the running job's time left
        assert waits[1] - waits[0] == pytest.approx(predicted, abs=1.0)  # then the first queued job's
        assert pool.expected_wait(running) is None
        for job in (running, first, second):
            pool.stop(job.owner, job.id)
        wait(pool, running, FINAL_STATES)
    finally:
        pool.shutdown()


def test_limits_on_runs_per_session_and_in_total(pool):
    jobs = [pool.submit("gina", CONFIG, DATA, epochs=500), pool.submit("gina", CONFIG, DATA, epochs=500)]
    with pytest.raises(LimitError, match="already have 2 unfinished run"):
        pool.submit("gina", CONFIG, DATA, epochs=1)
    jobs += [pool.submit("hal", CONFIG, DATA, epochs=500), pool.submit("ivy", CONFIG, DATA, epochs=500)]
    with pytest.raises(LimitError, match="server is busy with 4 runs"):
        pool.submit("jon", CONFIG, DATA, epochs=1)
    for job in jobs:
        pool.stop(job.owner, job.id)
    for job in jobs:
        wait(pool, job, FINAL_STATES)


def test_a_job_runs_in_the_spare_that_was_ready_and_a_new_spare_takes_its_place():
    launcher = LocalLauncher(spares=1)
    spares = JobPool(workers=1, launcher=launcher)
    try:
        (ready,) = launcher.spare_pids()
        job = spares.submit("fay", CONFIG, DATA, epochs=2)
        wait(spares, job, FINAL_STATES)
        assert job.state == DONE and job.pid == ready  # the job ran in the process started ahead of it
        (behind,) = launcher.spare_pids()
        assert behind != ready and alive(behind)
        second = spares.submit("fay", CONFIG, DATA, epochs=1)
        assert wait(spares, second, FINAL_STATES).state == DONE and second.pid == behind
    finally:
        spares.shutdown()
    assert wait_until(lambda: not any(alive(pid) for pid in (ready, behind)), 10)  # nothing left behind
    assert launcher.spare_pids() == []


def test_a_launcher_starts_no_process_until_it_may_and_its_first_job_waits_for_that():
    # The server builds its launcher on a visitor's first page, long before its kernels are
    # compiled: neither the Manager nor a spare may start (and compile beside the compiler) yet.
    may_start = threading.Event()
    began = time.monotonic()
    launcher = LocalLauncher(spares=1, after=may_start.wait)
    assert time.monotonic() - began < 1  # building it waits for nothing
    before = set(children(os.getpid()))
    time.sleep(1)
    assert set(children(os.getpid())) == before
    pool = JobPool(workers=1, launcher=launcher)
    submitted = []
    submitting = threading.Thread(target=lambda: submitted.append(pool.submit("ada", CONFIG, DATA, epochs=1)))
    submitting.start()
    submitting.join(1)
    assert submitting.is_alive() and not submitted  # the job needs the Manager's channel
    may_start.set()
    submitting.join(60)
    try:
        (job,) = submitted
        assert wait(pool, job, FINAL_STATES).state == DONE
    finally:
        pool.shutdown()


def test_a_launcher_that_cannot_start_its_processes_refuses_jobs_with_a_message(monkeypatch):
    def no_manager():
        raise OSError("no more processes")

    monkeypatch.setattr(multiprocessing.get_context("spawn"), "Manager", no_manager)
    pool = JobPool(workers=1, launcher=LocalLauncher(spares=0))
    try:  # neither a hang nor a traceback: the visitor reads that the server cannot train now
        with pytest.raises(LimitError, match="could not start its training processes"):
            pool.submit("ada", CONFIG, DATA, epochs=1)
    finally:
        pool.shutdown()


def test_workers_start_below_the_web_servers_priority():
    # Lowered by the server as it starts them, long before a spawned worker has imported torch
    # (which it does to find its target, before it can lower its own priority).
    launcher = LocalLauncher(spares=1)  # the pool's cold starts go through the same start
    try:
        (spare,) = launcher.spare_pids()
        assert os.getpriority(os.PRIO_PROCESS, spare) >= max(WORKER_NICENESS, os.nice(0))
    finally:
        launcher.shutdown()


def test_a_spare_that_dies_is_replaced_and_jobs_still_start():
    launcher = LocalLauncher(spares=1)
    spares = JobPool(workers=1, launcher=launcher)
    try:
        (doomed,) = launcher.spare_pids()
        os.kill(doomed, signal.SIGKILL)
        deadline = time.time() + 30
        while launcher.spare_pids() in ([], [doomed]) and time.time() < deadline:
            time.sleep(0.1)  # the pool's scheduler looks at its spares every 0.2 s
        (replacement,) = launcher.spare_pids()
        assert replacement != doomed and alive(replacement)
        job = spares.submit("gus", CONFIG, DATA, epochs=1)
        assert wait(spares, job, FINAL_STATES).state == DONE and job.pid == replacement
    finally:
        spares.shutdown()


def test_submitting_never_waits_for_a_spare_that_is_not_ready():
    launcher = LocalLauncher(spares=1)
    spares = JobPool(workers=1, launcher=launcher)
    (slow,) = launcher.spare_pids()
    os.kill(slow, signal.SIGSTOP)  # a spare still loading torch: it reads no job yet
    try:
        submitted, big = [], make_synthetic(2000)  # far more data than a pipe holds
        worker = threading.Thread(target=lambda: submitted.append(spares.submit("hal", CONFIG, big, epochs=1)))
        worker.start()
        worker.join(timeout=60)
        assert submitted, "submit waited for the spare"
        os.kill(slow, signal.SIGCONT)
        (job,) = submitted
        assert wait(spares, job, FINAL_STATES).state == DONE and job.pid == slow
    finally:
        os.kill(slow, signal.SIGCONT)
        spares.shutdown()


def test_a_job_with_a_worker_awaits_its_first_report_and_one_in_the_queue_does_not():
    launcher = LocalLauncher(spares=1)
    pool = JobPool(workers=1, launcher=launcher)
    (held,) = launcher.spare_pids()
    os.kill(held, signal.SIGSTOP)  # the first job's worker cannot report until it goes on
    try:
        first = pool.submit("ida", CONFIG, DATA, epochs=1)
        second = pool.submit("jon", CONFIG, DATA, epochs=1)
        assert pool.place_in_queue(first) == 0 and pool.place_in_queue(second) == 1
        assert pool.awaiting_first_report(first) and not pool.awaiting_first_report(second)
        os.kill(held, signal.SIGCONT)
        assert wait(pool, first, FINAL_STATES).state == DONE
        assert first.reports and not pool.awaiting_first_report(first)
        assert wait(pool, second, FINAL_STATES).state == DONE and not pool.awaiting_first_report(second)
    finally:
        os.kill(held, signal.SIGCONT)
        pool.shutdown()


def test_without_spares_each_job_starts_its_own_process():
    cold = JobPool(workers=1, launcher=LocalLauncher(spares=0))
    try:
        job = cold.submit("hana", CONFIG, DATA, epochs=1)
        assert wait(cold, job, FINAL_STATES).state == DONE and job.pid != os.getpid()
    finally:
        cold.shutdown()


def test_a_job_over_its_memory_limit_fails_with_a_message():
    small = JobPool(workers=1, memory_mb=400)
    try:
        job = small.submit("kim", Config(n_series=30, hidden=8, epochs=1), DATA, epochs=1)
        wait(small, job, FINAL_STATES)
        assert job.state == FAILED and "400 MB a job may use" in job.error, job.error
    finally:
        small.shutdown()


def test_limits_come_from_the_environment():
    limits = Limits.from_environment({"DILATE_WORKERS": "3", "DILATE_MAX_EPOCHS": "50"})
    assert limits.workers == 3 and limits.max_epochs == 50 and limits.runs_per_session == 1
    with pytest.raises(ValueError, match="DILATE_MAX_EPOCHS must be a whole number"):
        Limits.from_environment({"DILATE_MAX_EPOCHS": "many"})
    with pytest.raises(ValueError, match="DILATE_MAX_LENGTH must be at least 6"):
        Limits.from_environment({"DILATE_MAX_LENGTH": "3"})
    assert Limits().max_job_seconds == 0  # no budget unless the server sets one (make serve: 300 s)
    assert Limits.from_environment({"DILATE_MAX_JOB_SECONDS": "300"}).max_job_seconds == 300
    # A spare per worker unless set: two visitors pressing Start together on two workers both
    # start at once (with one spare the second waited for a process importing torch: 8 s).
    assert limits.spares() == 3
    assert Limits.from_environment({"DILATE_SPARE_WORKERS": "0", "DILATE_WORKERS": "3"}).spares() == 0
    assert Limits().spares() == (os.cpu_count() or 1)
