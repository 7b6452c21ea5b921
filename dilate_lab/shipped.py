"""Trained runs packed to ship with the app: what a learner needs to see a run without training it.

A packed run is one torch file: the run's settings, the code version that trained it, each model's
weights from its lowest validation loss (the ones the app shows; no optimizer state, so it cannot
be continued), the reports of every epoch (losses, validation losses, test metrics) with the
forecasts of the fixed preview series at every evaluation (the replay), and every test series'
scores. `make shipped-runs` trains and packs the app's runs (assets/runs/).
"""

import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from dilate_lab.config import Config
from dilate_lab.data import ASSETS
from dilate_lab.scores import per_series_scores
from dilate_lab.train import EpochReport, Trainer, load_dataset, save_whole

SHIPPED = ASSETS / "runs"  # the app's packed runs, one file per data set
FORMAT = 1  # the layout of a packed file; a reader refuses other layouts with a message


def code_version(root: Path = ASSETS.parent) -> str:
    """The checkout's git commit (with '+changes' when its tracked files differ), or 'unknown'."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=root, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + ("+changes" if dirty.returncode else "")


def pack(trainer: Trainer, command: str, version: str | None = None) -> dict:
    """A finished run as the dict a packed file holds (see the module's docstring)."""
    models = trainer.best_models() if trainer.config.select_on_validation else trainer.models
    evaluated = [report for report in trainer.reports if report.previews]
    previews = np.array(
        [[report.previews[name] for name in trainer.models] for report in evaluated], dtype=np.float32
    )  # (n_evaluations, n_losses, n_preview, n_output, d)
    reports = [asdict(report) | {"previews": None, "timing": {}} for report in trainer.reports]
    predictions = trainer.predict(trainer.dataset.test_x, best=trainer.config.select_on_validation)
    scores = per_series_scores(predictions, trainer.dataset.test_y)
    return {
        "format": FORMAT,
        "config": asdict(trainer.config),
        "dataset": {"name": trainer.dataset.name, "info": trainer.dataset.info},
        "code_version": version or code_version(),
        "command": command,
        "models": {name: model.state_dict() for name, model in models.items()},
        "best_epochs": trainer.best_epochs,
        "stopped": trainer.stopped,
        "reports": reports,
        "preview_index": torch.from_numpy(np.asarray(trainer.preview_index, dtype=np.int64)),
        "preview_epochs": torch.tensor([report.epoch for report in evaluated], dtype=torch.int64),
        "previews": torch.from_numpy(previews).half(),  # float16: the replay draws them, 3 digits suffice
        "scores": {
            name: {key: torch.from_numpy(np.asarray(values, dtype=np.float32)) for key, values in s.items()}
            for name, s in scores.items()
        },
    }


@dataclass
class PackedRun:
    """A packed run, loaded: its trainer (the models with the weights it shows), reports with their
    preview forecasts restored, scores and provenance."""

    name: str
    trainer: Trainer
    reports: list[dict]  # as a live run's reports (EpochReport dicts), previews on evaluation epochs
    scores: dict[str, dict]  # loss -> {'mse', 'dtw', 'tdi', 'flatness': (n_test,) arrays, 'pooled': float}
    best_epochs: dict[str, int]
    code_version: str
    command: str
    raw: bytes = field(repr=False)  # the file itself, for download

    @property
    def config(self) -> Config:
        return self.trainer.config

    @property
    def epoch(self) -> int:
        return self.reports[-1]["epoch"] if self.reports else 0

    def label(self) -> str:
        """'Trained 1000 epochs with the paper's settings, seed 0 (...)': what the run is, in a line."""
        config = self.config
        best = ", ".join(f"{name} {epoch}" for name, epoch in self.best_epochs.items())
        shown = f"each model's best validation weights (epochs: {best})" if best else "the last epoch's weights"
        unfinished = self.epoch < config.epochs and not self.trainer.stopped
        trained = f"{self.epoch} of its {config.epochs} epochs so far" if unfinished else f"{self.epoch} epochs"
        return (
            f"Trained {trained} with the paper's settings ({config.model}, {config.hidden} hidden units, "
            f"alpha {config.alpha:g}, gamma {config.gamma:g}, lr {config.lr:g}, batch {config.batch_size}), "
            f"seed {config.seed}; shown with {shown}."
        )


def save(trainer: Trainer, path, command: str, version: str | None = None) -> None:
    """Pack a finished run into `path`, written whole or not at all (version: the code's, default
    this checkout's git commit)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_whole(pack(trainer, command, version), path)


def load(path, dataset=None) -> PackedRun:
    """A packed run from `path`; its data set is rebuilt from its settings unless one is given.

    Raises ValueError with a sentence when the file is not a packed run of this layout."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: torch raises several kinds
        raise ValueError(f"{path.name} is not a readable packed run ({type(error).__name__}).") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path.name} is not a packed run of layout {FORMAT}: repack it with `make shipped-runs`.")
    config = Config.from_dict(state["config"])
    trainer = Trainer(config, dataset if dataset is not None else load_dataset(config))
    for name, model in trainer.models.items():
        model.load_state_dict(state["models"][name])
    trainer.reports = [EpochReport(**report) for report in state["reports"]]
    trainer.stopped = dict(state["stopped"])
    trainer.best = {  # the weights loaded are the best ones: `predict(best=True)` gives the same forecasts
        name: {"epoch": epoch, "loss": float("nan"), "state": trainer.models[name].state_dict(), "stale": 0}
        for name, epoch in state["best_epochs"].items()
    }
    reports = [dict(report) for report in state["reports"]]
    at = {int(epoch): k for k, epoch in enumerate(state["preview_epochs"].tolist())}
    previews = state["previews"].float().numpy()  # (n_evaluations, n_losses, n_preview, n_output, d)
    for report in reports:
        if report["epoch"] in at:
            k = at[report["epoch"]]
            report["previews"] = {name: previews[k, i].tolist() for i, name in enumerate(trainer.models)}
    scores = {
        name: {key: (float(v) if key == "pooled" else v.numpy().astype(np.float64)) for key, v in s.items()}
        for name, s in state["scores"].items()
    }
    return PackedRun(
        name=path.stem,
        trainer=trainer,
        reports=reports,
        scores=scores,
        best_epochs=dict(state["best_epochs"]),
        code_version=state["code_version"],
        command=state["command"],
        raw=raw,
    )


def available(folder: Path = SHIPPED) -> list[str]:
    """The names of the packed runs in `folder` (their file stems), synthetic first."""
    names = sorted(path.stem for path in Path(folder).glob("*.pt"))
    return sorted(names, key=lambda name: name != "synthetic")
