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
"""

import csv
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import socket
import sqlite3
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dilate_core import paper, warmup
from dilate_core._spawn import bare_main
from dilate_core.metrics import CHANGE_PENALTY, RAMP_EPSILON, evaluate, external
from dilate_core.settings import LOSS_LABELS, SETTINGS
from dilate_core.train import Config, Trainer, load_dataset

STORE_NAME = "sweep.sqlite"
METRICS = tuple(paper.METRIC_LABELS)  # Table 1's, then Table 2's


@dataclass(frozen=True)
class Task:
    """One training run: a cell of the grid and a run index, as a complete Config dict."""

    cell: dict  # the grid's values for this cell, e.g. {"model": "mlp"}
    run: int  # 0-based; run r trains with seed and data_seed shifted by r
    config: dict  # every Config field

    @property
    def key(self) -> str:
        """A stable id of what the task computes: the same settings give the same key."""
        return hashlib.sha256(json.dumps(self.config, sort_keys=True).encode()).hexdigest()[:20]


@dataclass
class Sweep:
    """Fixed `settings` (Config fields), a `grid` (field -> values to try) and `runs` seeds per cell.

    Data settings a cell leaves unset take its data source's defaults (ECG5000: 84 -> 56 steps).
    """

    settings: dict = field(default_factory=dict)
    grid: dict[str, list] = field(default_factory=dict)
    runs: int = 10

    def __post_init__(self):
        unknown = sorted((set(self.settings) | set(self.grid)) - set(SETTINGS))
        if unknown:
            raise ValueError(f"Unknown setting(s) {', '.join(unknown)}; see python -m dilate_core train --help.")
        for name, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"The grid's {name} must be a non-empty list of values, got {values!r}.")
        if not isinstance(self.runs, int) or self.runs < 1:
            raise ValueError(f"runs must be a whole number of at least 1, got {self.runs!r}.")
        self.tasks()  # every cell's Config is checked now, before anything trains

    @classmethod
    def from_file(cls, path) -> tuple["Sweep", str | None]:
        """A sweep file (TOML): `runs = 10`, `out = "folder"`, a [settings] table and a [grid]
        table of lists. Returns the sweep and its `out` folder (None if the file names none)."""
        try:
            with open(path, "rb") as handle:
                spec = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"Cannot read the sweep file {path}: {error}") from None
        unknown = sorted(set(spec) - {"runs", "settings", "grid", "out"})
        if unknown:
            raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}; expected runs, settings, grid, out.")
        return cls(spec.get("settings", {}), spec.get("grid", {}), spec.get("runs", 10)), spec.get("out")

    def cells(self) -> list[dict]:
        """Every combination of the grid's values, in the grid's order."""
        names = list(self.grid)
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*self.grid.values())]

    def tasks(self) -> list[Task]:
        tasks = []
        for cell in self.cells():
            base = Config(**(self.settings | cell))
            for run in range(self.runs):
                config = asdict(base) | {"seed": base.seed + run, "data_seed": base.data_seed + run}
                tasks.append(Task(cell, run, json.loads(json.dumps(config))))  # tuples as lists, as stored
        return tasks


def reduced(sweep: Sweep, epochs: int, runs: int = 2) -> Sweep:
    """A small version of a sweep to watch live: its first cell, `epochs` epochs (no early
    stopping, five evaluations), `runs` seeds."""
    settings = sweep.settings | sweep.cells()[0] | {"epochs": epochs, "eval_every": max(1, epochs // 5)}
    return Sweep(settings | {"patience": 0}, {}, runs)


def train_task(config: dict) -> dict:
    """Train one task's Config; its result as plain data (see the module's docstring)."""
    start = time.perf_counter()
    warmup()
    run_config = Config.from_dict(config)
    dataset = load_dataset(run_config)
    trainer = Trainer(run_config, dataset)
    for _ in trainer.run(test_metrics=False):  # only the final scores below are kept
        pass
    scales = paper.scales(run_config.dataset, external=True)
    protocols = ["last", "best"] if run_config.select_on_validation else ["last"]
    results = {}
    for protocol in protocols:
        forecasts = trainer.predict(dataset.test_x, best=protocol == "best")
        results[protocol] = {}
        for loss, pred in forecasts.items():
            scores = evaluate(pred, dataset.test_y) | external(pred, dataset.test_y)
            results[protocol][loss] = {metric: scores[metric] * scales[metric] for metric in METRICS}
    return {
        "metrics": results,
        "best_epochs": trainer.best_epochs,
        "stopped": trainer.stopped,
        "epochs": trainer.epoch,
        "seconds": time.perf_counter() - start,
        "host": socket.gethostname(),
    }


class Store:
    """The sweep's results in SQLite: one row per task, written (and committed) as it finishes."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / STORE_NAME
        # SQLite's default rollback journal: every commit leaves the file itself whole, so it can
        # be copied (or committed to git) at any moment while a sweep runs.
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute("PRAGMA journal_mode=DELETE")  # also for a store an older version left in WAL mode
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS tasks (key TEXT PRIMARY KEY, cell TEXT, run INTEGER, config TEXT, "
            "status TEXT, result TEXT, error TEXT, finished REAL)"
        )
        self._db.commit()
        self._complete_configs()

    def _complete_configs(self) -> None:
        """Re-key the rows stored before a setting existed or was derived: each row's config
        becomes the complete one this version of Config makes of it (a new setting at its
        default, ECG5000's horizon from its input length), so the sweep that wrote the store
        still finds its finished tasks."""
        rows = self._db.execute("SELECT key, cell, run, config FROM tasks").fetchall()
        with self._db:
            for key, cell, run, stored in rows:
                config = json.loads(json.dumps(asdict(Config.from_dict(json.loads(stored)))))
                task = Task(json.loads(cell), run, config)
                if task.key != key:
                    self._db.execute(
                        "UPDATE OR REPLACE tasks SET key = ?, config = ? WHERE key = ?",
                        (task.key, json.dumps(config, sort_keys=True), key),
                    )

    def done(self) -> set[str]:
        return {key for (key,) in self._db.execute("SELECT key FROM tasks WHERE status = 'done'")}

    def record(self, task: Task, result: dict | None, error: str | None = None) -> None:
        with self._db:  # one transaction: the row is there whole or not at all
            self._db.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task.key,
                    json.dumps(task.cell, sort_keys=True),
                    task.run,
                    json.dumps(task.config, sort_keys=True),
                    "done" if error is None else "failed",
                    json.dumps(result) if result is not None else None,
                    error,
                    time.time(),
                ),
            )

    def rows(self, status: str = "done") -> list[dict]:
        query = "SELECT key, cell, run, config, result, error FROM tasks WHERE status = ? ORDER BY cell, run"
        return [
            {
                "key": key,
                "cell": json.loads(cell),
                "run": run,
                "config": json.loads(config),
                "result": json.loads(result) if result else None,
                "error": error,
            }
            for key, cell, run, config, result, error in self._db.execute(query, (status,))
        ]

    def close(self) -> None:
        self._db.close()


def _pin_threads(threads: int) -> None:
    """A worker's torch and numba thread pools, both capped: with numba at its default (every
    core) in each of several workers, their idle threads spin against each other."""
    import numba
    import torch

    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


Outcome = tuple[Task, dict | None, str | None]  # a task and its result, or its error


class LocalExecutor:
    """A pool of spawned processes on this machine: `workers` (default: cores // threads) at
    once, each with torch and numba on `threads` threads."""

    def __init__(self, workers: int | None = None, threads: int = 1):
        self.threads = threads
        self.workers = workers or max(1, (os.cpu_count() or 1) // threads)

    def run(self, tasks: list[Task]) -> Iterator[Outcome]:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_pin_threads, initargs=(self.threads,))
        with bare_main():  # the pool starts its processes as tasks are submitted
            futures = {pool.submit(train_task, task.config): task for task in tasks}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()
                    if error is None:
                        yield futures[future], future.result(), None
                    else:
                        yield futures[future], None, f"{type(error).__name__}: {error}"
        finally:
            if pending:  # Ctrl-C, or the caller stopped reading: queued tasks never start and the
                # running ones end with their process (Python 3.11 has no public way to stop them)
                processes = list((pool._processes or {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for process in processes:
                    process.terminate()
            else:
                pool.shutdown()


class RayExecutor:
    """One Ray task per training task on the cluster at `address` ("auto": the one this machine
    belongs to), each asking for `threads` CPUs, retried when its worker or node dies."""

    def __init__(self, address: str, threads: int = 1, retries: int = 3):
        self.address, self.threads, self.retries = address, threads, retries

    def run(self, tasks: list[Task]) -> Iterator[Outcome]:
        import ray  # optional: only a sweep sent to a cluster needs it

        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False)
        remote = ray.remote(num_cpus=self.threads, max_retries=self.retries)(_ray_task)
        references = {remote.remote(task.config, self.threads): task for task in tasks}
        try:
            while references:
                finished, _ = ray.wait(list(references), num_returns=1)
                for reference in finished:
                    task = references.pop(reference)
                    try:
                        yield task, ray.get(reference), None
                    except Exception as error:  # the task's own error, or its node lost past the retries
                        yield task, None, f"{type(error).__name__}: {error}"
        finally:  # Ctrl-C, or the caller stopped reading: nothing stays queued on the cluster
            for reference in references:
                ray.cancel(reference, force=True)


def _ray_task(config: dict, threads: int) -> dict:
    _pin_threads(threads)
    return train_task(config)


def executor_from(ray_address: str | None = None, workers: int | None = None, threads: int = 1):
    """Ray when an address is given or RAY_ADDRESS is set, else the local process pool."""
    address = ray_address or os.environ.get("RAY_ADDRESS")
    return RayExecutor(address, threads) if address else LocalExecutor(workers, threads)


def run_sweep(
    sweep: Sweep,
    folder,
    executor=None,
    progress: Callable[[int, int, int], None] | None = None,
    command: str | None = None,
) -> Path:
    """Train every task of `sweep` not yet done in `folder`'s store, then write the summary.

    progress(done, total, failed) is called at the start and after every task; `command`, the
    command line that reruns the sweep, goes into the summary. Returns the summary's Markdown path.
    """
    store = Store(folder)
    try:
        tasks = sweep.tasks()
        done = store.done()
        missing = [task for task in tasks if task.key not in done]
        finished, failed = len(tasks) - len(missing), 0
        if progress:
            progress(finished, len(tasks), failed)
        if missing:
            for task, result, error in (executor or LocalExecutor()).run(missing):
                store.record(task, result, error)
                write_summary(sweep, store, command)  # a long sweep's summary follows its store
                finished, failed = finished + (error is None), failed + (error is not None)
                if progress:
                    progress(finished, len(tasks), failed)
        return write_summary(sweep, store, command)
    finally:
        store.close()


@dataclass
class Cell:
    """The results of one cell over its runs: per protocol, loss and metric, the values."""

    cell: dict
    runs: int  # runs done
    planned: int
    epochs: list[int]
    seconds: list[float]  # each run's wall time, as its host measured it
    values: dict[str, dict[str, dict[str, list[float]]]]  # protocol -> loss -> metric -> one per run


def collect(sweep: Sweep, rows: Iterable[dict]) -> list[Cell]:
    """The done rows of this sweep's tasks, grouped by cell (other rows of the store are ignored)."""
    keys = {task.key for task in sweep.tasks()}
    cells = {json.dumps(cell, sort_keys=True): Cell(cell, 0, sweep.runs, [], [], {}) for cell in sweep.cells()}
    for row in rows:
        if row["key"] not in keys:
            continue
        entry = cells[json.dumps(row["cell"], sort_keys=True)]
        entry.runs += 1
        entry.epochs.append(row["result"]["epochs"])
        entry.seconds.append(row["result"]["seconds"])
        for protocol, losses in row["result"]["metrics"].items():
            for loss, scores in losses.items():
                for metric, value in scores.items():
                    entry.values.setdefault(protocol, {}).setdefault(loss, {}).setdefault(metric, []).append(value)
    return list(cells.values())


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation (numpy's default, as the reproduction tables use)."""
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def verdict(ours: tuple[float, float], reported: tuple[float, float]) -> str:
    """'consistent' when the means differ by less than twice the combined spread, else 'differs'."""
    (m1, s1), (m2, s2) = ours, reported
    return "consistent" if abs(m1 - m2) < 2 * math.hypot(s1, s2) else "differs"


JUDGED = ("consistent", "differs")  # the verdicts `verdict` gives
NOT_COMPARABLE = "not comparable"  # the verdict of a model trained at other loss parameters than the paper's


def comparable(loss: str, settings: dict) -> bool:
    """Whether a model trained with `loss` under `settings` had the loss parameters of the
    paper's tables (paper.PAPER_LOSS_PARAMETERS), those its loss reads."""
    return all(
        math.isclose(settings.get(name, SETTINGS[name].default), paper.PAPER_LOSS_PARAMETERS[name])
        for name in paper.parameters_read(loss)
    )


def summary_rows(sweep: Sweep, cells: list[Cell]) -> list[dict]:
    """One row per cell, protocol, loss and metric: mean ± std over its runs, beside the paper's,
    with a verdict where the model was trained as the paper's were (`comparable`)."""
    rows = []
    for entry in cells:
        settings = sweep.settings | entry.cell
        dataset = settings.get("dataset", SETTINGS["dataset"].default)
        reported = paper.reported(dataset, settings.get("model", SETTINGS["model"].default))
        for protocol, losses in entry.values.items():
            for loss, metrics in losses.items():
                for metric, values in metrics.items():
                    mean, std = mean_std(values)
                    row = {**entry.cell, "protocol": protocol, "loss": loss, "metric": metric}
                    scale = paper.scales(dataset, external=True)[metric]
                    row |= {"scale": scale, "runs": len(values), "mean": mean, "std": std}
                    paper_value = reported.get((metric, loss))
                    judged = ""
                    if paper_value and not comparable(loss, settings):
                        judged = NOT_COMPARABLE
                    elif paper_value and len(values) > 1:
                        judged = verdict((mean, std), paper_value)
                    row |= {
                        "paper_mean": paper_value[0] if paper_value else None,
                        "paper_std": paper_value[1] if paper_value else None,
                        "verdict": judged,
                    }
                    rows.append(row)
    return rows


PROTOCOL_TITLES = {
    "last": "weights after the last epoch",
    "best": "each model's weights from its lowest validation loss (the paper's early stopping)",
}


def write_summary(sweep: Sweep, store: Store, command: str | None = None) -> Path:
    """summary.csv and summary.md next to the store, from the runs done so far (they say how many)."""
    cells = collect(sweep, store.rows())
    rows = summary_rows(sweep, cells)
    csv_path, md_path = store.folder / "summary.csv", store.folder / "summary.md"
    columns = [*sweep.grid, "protocol", "loss", "metric", "scale", "runs", "mean", "std"]
    columns += ["paper_mean", "paper_std", "verdict"]
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows([{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows])
    md_path.write_text(summary_markdown(sweep, cells, rows, command))
    return md_path


def duration_text(seconds: float) -> str:
    """A wall time as people read it: '42 s', '7.5 min', '3 h 05 min'."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def summary_markdown(sweep: Sweep, cells: list[Cell], rows: list[dict], command: str | None = None) -> str:
    done = sum(entry.runs for entry in cells)
    seconds = [value for entry in cells for value in entry.seconds]
    judged = [row["verdict"] for row in rows if row["verdict"] in JUDGED]
    unjudged = any(row["verdict"] == NOT_COMPARABLE for row in rows)
    paper_parameters = paper.loss_parameters_text()
    epochs = sweep.settings.get("epochs", SETTINGS["epochs"].default)
    patience = sweep.settings.get("patience", 0)
    lines = [
        f"# Sweep: {done} of {len(cells) * sweep.runs} runs done",
        "",
        *([f"Command: `{command}`", ""] if command else []),
        *(
            [f"Training time of the runs done: {duration_text(sum(seconds))} (the sum of their wall times).", ""]
            if seconds
            else []
        ),
        *(
            [f"Consistent with the paper: {judged.count('consistent')} of {len(judged)} values it reports.", ""]
            if judged
            else []
        ),
        *(
            [
                f"Models trained at other loss parameters than the paper's ({paper_parameters}) show its values "
                "beside theirs, not judged.",
                "",
            ]
            if unjudged
            else []
        ),
        *([] if judged or unjudged else ["No value of the paper to compare with (or a single run per cell).", ""]),
        f"Fixed settings: `{json.dumps(sweep.settings, sort_keys=True)}`; grid: `{json.dumps(sweep.grid)}`.",
        f"Up to {epochs} epochs per run"
        + (f", early stopping after {patience} evaluations without a lower validation loss." if patience else "."),
        "Mean ± std over the runs done; the paper's Tables 1-3 beside where they have the cell; verdict: "
        "consistent when |ours - paper| < 2 sqrt(std_ours² + std_paper²).",
        "The ramp score and the Hausdorff distance use our documented parameters (dilate_core.metrics:",
        f"swinging-door half-width {RAMP_EPSILON}, the score divided by the duration; ruptures' L2",
        f"change points with penalty {CHANGE_PENALTY}); the paper's own are in a supplementary that",
        "is not shipped, so compare how the losses rank on them, not the values.",
        "",
    ]
    for entry in cells:
        dataset = (sweep.settings | entry.cell).get("dataset", SETTINGS["dataset"].default)
        name = ", ".join(f"{k} = {v}" for k, v in entry.cell.items()) or "the only cell"
        trained = f"{min(entry.epochs)}–{max(entry.epochs)}" if entry.epochs else "no"
        per_run = (
            f" in {duration_text(min(entry.seconds))}–{duration_text(max(entry.seconds))} each" if entry.seconds else ""
        )
        lines += [f"## {name}", "", f"{entry.runs} of {entry.planned} runs done{per_run}; {trained} epochs trained."]
        for protocol, losses in entry.values.items():
            caption = paper.scale_caption(dataset, external=True)
            lines += ["", f"Test metrics ({caption}), {PROTOCOL_TITLES[protocol]}:", ""]
            lines += ["| metric | " + " | ".join(LOSS_LABELS[loss] for loss in losses) + " |"]
            lines += ["|---|" + "---|" * len(losses)]
            mine = [r for r in rows if r["protocol"] == protocol and all(r[k] == v for k, v in entry.cell.items())]
            for metric in [m for m in METRICS if any(m in scores for scores in losses.values())]:
                texts = []
                for loss in losses:
                    row = next((r for r in mine if r["loss"] == loss and r["metric"] == metric), None)
                    if row is None:  # a metric that runs stored before it existed do not have
                        texts.append("")
                        continue
                    text = f"{row['mean']:.3g} ± {row['std']:.2g}"
                    if row["runs"] != entry.runs:
                        text += f" ({row['runs']} runs)"
                    if row["paper_mean"] is not None:
                        at = f", at {paper_parameters}:" if row["verdict"] == NOT_COMPARABLE else ""
                        text += f" (paper{at} {row['paper_mean']:.3g} ± {row['paper_std']:.2g}"
                        text += f", {row['verdict']})" if row["verdict"] in JUDGED else ")"
                    texts.append(text)
                lines.append(f"| {paper.METRIC_LABELS[metric]} | " + " | ".join(texts) + " |")
        lines.append("")
    return "\n".join(lines)
