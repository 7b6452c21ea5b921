"""How the job pool reckons a job's time (explorer.job_time), against hand-worked schedules: no
processes, so these run in the fast suite; tests/test_jobs.py checks the same numbers on a live pool."""

import itertools

import pytest

from dilate_lab.train import Config
from explorer import job_time
from explorer.jobs import DONE, RUNNING, Job


def test_seconds_left_is_the_mean_epoch_time_times_the_epochs_to_go():
    assert job_time.seconds_left([], 10) is None  # nothing trained yet: no pace to go by
    assert job_time.seconds_left([2.0, 4.0], 5) == 9.0  # 3 s an epoch, 3 epochs to go
    assert job_time.seconds_left([1.5, 1.5, 1.5], 3) == 0.0  # the last epoch is done


def test_a_job_counts_only_its_trained_epochs_and_only_while_it_runs():
    reports = [
        {"epoch": 0, "train": {}, "seconds": 30.0},  # the models before training: no epoch's pace
        {"epoch": 1, "train": {"mse": 1.0}, "seconds": 2.0},
        {"epoch": 2, "train": {"mse": 0.5}, "seconds": 4.0},
    ]
    job = Job(1, "ada", Config(), epochs=5, start_epoch=0, state=RUNNING, reports=reports)
    assert job.seconds_left() == 9.0
    job.state = DONE
    assert job.seconds_left() is None


def test_expected_seconds_prefers_the_jobs_pace_then_its_prediction_and_never_passes_its_budget():
    assert job_time.expected_seconds(7.0, 50.0, 20.0, None) == 7.0  # its own epochs say 7 s
    assert job_time.expected_seconds(None, 50.0, 20.0, None) == 30.0  # predicted 50 s, 20 s gone
    assert job_time.expected_seconds(None, 50.0, 60.0, None) == 0.0  # past its prediction: due now
    assert job_time.expected_seconds(None, None, 5.0, None) == 0.0  # nothing known
    assert job_time.expected_seconds(None, 50.0, 20.0, 25.0) == 5.0  # stopped at 25 s, 5 s from now
    assert job_time.expected_seconds(40.0, None, 30.0, 25.0) == 0.0  # already past its budget


def simulated_wait(running: list[float], ahead: list[float], workers: int, step: float = 0.5) -> float:
    """The wait by stepping a clock: at each tick, every free worker takes the next job in line
    (the jobs ahead first, then the waiting one); the answer is the tick it is taken."""
    busy_until = sorted(running)[:workers] + [0.0] * max(0, workers - len(running))
    line = list(ahead)
    for tick in itertools.count():
        now = tick * step
        for worker, until in enumerate(busy_until):
            if until <= now:
                if not line:
                    return now
                busy_until[worker] = now + line.pop(0)


@pytest.mark.parametrize(
    "running, ahead, workers, expected",
    [
        ([], [], 2, 0.0),  # an idle worker
        ([30.0], [], 2, 0.0),  # one of two workers idle
        ([30.0], [], 1, 30.0),  # the running job's time left
        ([30.0], [50.0], 1, 80.0),  # then the job ahead's
        ([30.0, 10.0], [20.0], 2, 30.0),  # the job ahead takes the worker free at 10 until 30
        ([30.0, 10.0], [20.0, 5.0], 2, 30.0),  # both workers are free at 30: one of them is its
        ([30.0, 10.0], [40.0], 2, 30.0),  # the other worker, free at 30, comes first
    ],
)
def test_a_waiting_job_gets_the_first_worker_free_after_the_jobs_ahead_of_it(running, ahead, workers, expected):
    assert job_time.expected_wait(running, ahead, workers) == expected
    assert simulated_wait(running, ahead, workers) == expected


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_the_wait_agrees_with_a_clock_stepped_through_the_schedule(workers):
    cases = itertools.product([[], [4.0], [4.0, 10.5], [3.0, 3.0, 7.5]], [[], [2.0], [6.5, 1.0, 3.5]])
    for running, ahead in cases:
        running = running[:workers]  # no more jobs run than there are workers
        assert job_time.expected_wait(running, ahead, workers) == simulated_wait(running, ahead, workers)


def test_a_run_over_the_budget_is_told_its_time_and_what_to_lower():
    refused = job_time.budget_message(15.0, 12.0, 3)  # 5 s an epoch: 2 epochs fit in 12 s
    assert refused.startswith("This run would take about 15 s here, over the 12 s a run may take on this server")
    assert "lower the epochs to 2 or fewer" in refused
    one_epoch_too_long = job_time.budget_message(600.0, 300.0, 1)  # not even one epoch fits
    assert "about 10 min" in one_epoch_too_long and "over the 5 min" in one_epoch_too_long
    assert "lower the number of series" in one_epoch_too_long and "lower the epochs" not in one_epoch_too_long
