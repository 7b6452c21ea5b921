"""How long jobs take, as the job pool reckons it: a running job's seconds left, a waiting job's
wait for a worker, and the sentence that refuses a run predicted over the server's budget.

Plain arithmetic on seconds, apart from jobs and processes: a job's numbers come from its own
epochs once it trains, else from the prediction it was submitted with (explorer.cost's estimate).
"""

from explorer.cost import duration_text


def seconds_left(epoch_seconds: list[float], epochs: int) -> float | None:
    """Seconds to the last of `epochs`, at the mean of the epochs trained so far (`epoch_seconds`,
    one per trained epoch); None before the first has been trained."""
    if not epoch_seconds:
        return None
    return sum(epoch_seconds) / len(epoch_seconds) * (epochs - len(epoch_seconds))


def expected_seconds(left: float | None, predicted_s: float | None, elapsed: float, budget_s: float | None) -> float:
    """Seconds until a job ends, as well as known now: `left` from its epochs when it has some,
    else its prediction less the `elapsed` seconds (0 when unknown), never beyond its budget."""
    if left is None:
        left = max(0.0, (predicted_s or 0.0) - elapsed)
    if budget_s is not None:
        left = min(left, max(0.0, budget_s - elapsed))
    return left


def expected_wait(running: list[float], ahead: list[float], workers: int) -> float:
    """Seconds until a worker is free for a waiting job: `running` holds the expected seconds of the
    jobs running, `ahead` those of the jobs waiting before it, in order; each job ahead takes the
    first of the `workers` to be free."""
    free_at = sorted(running)[:workers]
    free_at += [0.0] * (workers - len(free_at))  # idle workers
    for seconds in ahead:
        free_at.sort()
        free_at[0] += seconds
    return min(free_at)


def budget_message(predicted_s: float, budget_s: float, epochs: int) -> str:
    """Why a run is refused: its predicted seconds against the budget, and what to lower."""
    fitting = int(epochs * budget_s / predicted_s)
    lower = f"lower the epochs to {fitting} or fewer" if fitting >= 1 else "lower the number of series"
    return (
        f"This run would take about {duration_text(predicted_s)} here, over the {duration_text(budget_s)} a run "
        f"may take on this server: {lower}, or use fewer series, shorter series, fewer hidden units or fewer losses."
    )
