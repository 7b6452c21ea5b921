"""Sweeps: a grid of training settings times seeded runs, on this machine or on a Ray cluster.

A task trains one `Config` (all its losses side by side, as `Trainer` does) with one seed and
yields one result: per-loss test metrics at the paper's scale, after the last epoch and with
each model's best validation weights, the best and early-stop epochs, the wall time and the
host. Every finished task is written at once to an SQLite store in the sweep's folder, so a
killed sweep loses only the tasks that were running and the same sweep run again trains only
what is missing (failed tasks included).

    sweep = Sweep({"dataset": "synthetic", "epochs": 1000}, {"model": ["seq2seq", "mlp"]}, runs=10)
    run_sweep(sweep, "results/table1_synthetic")            # a local process pool
    run_sweep(sweep, "results/table1_synthetic", RayExecutor("auto"))

plan: what trains (Sweep, Task, reduced); store: the SQLite store; executors: where it trains
and the loop that stores it (run_sweep); summary: the tables, the paper's test and its claims;
stats: the t-tests.
"""

from dilate_lab.sweep.executors import LocalExecutor, Outcome, RayExecutor, executor_from, run_sweep, train_task
from dilate_lab.sweep.plan import Sweep, Task, reduced, spread
from dilate_lab.sweep.store import STORE_NAME, Store, stored_rows
from dilate_lab.sweep.summary import (
    CLAIM_BY_NAME,
    CLAIMS,
    JUDGED,
    NOT_COMPARABLE,
    Cell,
    claim_rows,
    collect,
    comparable,
    duration_text,
    judged,
    mean_std,
    pace,
    paper_claims,
    paper_model,
    summary_markdown,
    summary_rows,
    verdict,
    write_claims_index,
    write_summary,
)

__all__ = [
    "CLAIMS",
    "CLAIM_BY_NAME",
    "JUDGED",
    "NOT_COMPARABLE",
    "STORE_NAME",
    "Cell",
    "LocalExecutor",
    "Outcome",
    "RayExecutor",
    "Store",
    "Sweep",
    "Task",
    "claim_rows",
    "collect",
    "comparable",
    "duration_text",
    "executor_from",
    "judged",
    "mean_std",
    "pace",
    "paper_claims",
    "paper_model",
    "reduced",
    "run_sweep",
    "spread",
    "stored_rows",
    "summary_markdown",
    "summary_rows",
    "train_task",
    "verdict",
    "write_claims_index",
    "write_summary",
]
