"""What a sweep trains: a grid of settings times seeded runs, each a `Task` with a complete Config."""

import hashlib
import itertools
import json
import tomllib
from dataclasses import asdict, dataclass, field

from dilate_lab.settings import SETTINGS
from dilate_lab.train import Config


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
            raise ValueError(f"Unknown setting(s) {', '.join(unknown)}; see python -m dilate_lab train --help.")
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

    def setting(self, name: str, cell: dict | None = None):
        """A setting's value in `cell` (or in every cell): the grid's, the fixed one, else the default."""
        return (self.settings | (cell or {})).get(name, SETTINGS[name].default)

    def tasks(self) -> list[Task]:
        tasks = []
        for cell in self.cells():
            base = Config(**(self.settings | cell))
            for run in range(self.runs):
                config = asdict(base) | {"seed": base.seed + run, "data_seed": base.data_seed + run}
                tasks.append(Task(cell, run, json.loads(json.dumps(config))))  # tuples as lists, as stored
        return tasks


def spread(items: list, count: int) -> list:
    """`count` of `items` spread evenly from the first to the last (all of them if fewer)."""
    if count >= len(items):
        return list(items)
    if count == 1:
        return [items[0]]
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def reduced(sweep: Sweep, epochs: int, runs: int = 2, cells: list[dict] | None = None) -> Sweep:
    """A small version of a sweep to watch live: the given `cells` of its grid (default: its
    first), `epochs` epochs (no early stopping, five evaluations), `runs` seeds.

    An MSE warm-up shrinks with the epochs, in the full sweep's proportion (100 of 1000 epochs:
    a tenth), so the small version trains mostly with each model's own loss, as the full one does.
    """
    chosen = cells if cells is not None else sweep.cells()[:1]
    settings = sweep.settings | {"epochs": epochs, "eval_every": max(1, epochs // 5), "patience": 0}
    warmup = sweep.setting("mse_warmup")
    if warmup:
        full = sweep.setting("epochs")
        settings["mse_warmup"] = max(1, round(warmup * epochs / full))
    names = list(chosen[0]) if chosen and chosen[0] else []
    if len(chosen) <= 1:
        return Sweep(settings | (chosen[0] if chosen else {}), {}, runs)
    grid = {name: list(dict.fromkeys(cell[name] for cell in chosen)) for name in names}
    small = Sweep(settings, grid, runs)
    if len(small.cells()) != len(chosen):  # the chosen cells are not a full grid of their values
        raise ValueError("A small version's cells must form a grid of their values.")
    return small
