"""A sweep's results in SQLite: one row per task, written (and committed) the moment it finishes."""

import json
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path

from dilate_lab.sweep.plan import Task
from dilate_lab.train import Config

STORE_NAME = "sweep.sqlite"


class Store:
    """The sweep's results in SQLite: one row per task, written (and committed) as it finishes.

    A failed task's row keeps its error as the full traceback text (its last line is
    'Type: message'); the next run of the sweep trains it again."""

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


def stored_rows(folder, status: str = "done") -> list[dict]:
    """A store's rows as `Store.rows` gives them, read without writing to it (a committed store
    stays as committed); none if the folder has no store."""
    path = Path(folder) / STORE_NAME
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        query = "SELECT key, cell, run, config, result, error FROM tasks WHERE status = ? ORDER BY cell, run"
        return [
            {"key": key, "cell": json.loads(cell), "run": run, "config": json.loads(config),
             "result": json.loads(result) if result else None, "error": error}
            for key, cell, run, config, result, error in db.execute(query, (status,))
        ]  # fmt: skip
    finally:
        db.close()
