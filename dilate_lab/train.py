"""Train one forecaster per loss side by side, from the same initial weights on the same batches.

`Trainer.run(epochs)` yields an `EpochReport` after every epoch (train losses, and every
`eval_every` epochs the test metrics and the forecasts of a few fixed test series), so a UI or
a CLI can draw while it runs and stop between epochs simply by not asking for the next one.
The same config and data give identical reports. A run saves to and loads from one file.
"""

import copy
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from dilate_core.losses import dilate_loss, dilate_t_loss, soft_dtw_divergence
from dilate_core.metrics import evaluate
from dilate_lab import data as data_module
from dilate_lab.config import Config
from dilate_lab.model import build_model
from dilate_lab.settings import LOSS_LABELS
from dilate_lab.sources import SOURCES


def save_whole(state, path) -> None:
    """torch.save(state, path), but a path gets the whole file or keeps what it had: written beside
    it, then renamed over it, so that a process killed mid-write leaves no truncated file."""
    if not isinstance(path, (str, Path)):
        torch.save(state, path)  # a file object: the caller's
        return
    partial = Path(f"{path}.partial")
    torch.save(state, partial)
    partial.replace(path)


def load_dataset(config) -> data_module.Dataset:
    """The built-in data set a config names, from the data settings it holds."""
    return SOURCES[config.dataset].load(asdict(config))


VALIDATION_FRACTION = 0.2  # of the training windows, for data sets without a validation split


def validation_split(dataset: data_module.Dataset, seed: int = 0) -> tuple[np.ndarray, ...]:
    """(train_x, train_y, val_x, val_y): the data set's own validation split if it has one, else
    VALIDATION_FRACTION of its training rows: drawn at random with `seed` where the rows are
    independent series, the latest ones where they are windows cut in time order."""
    if dataset.val_x is not None:
        return dataset.train_x, dataset.train_y, dataset.val_x, dataset.val_y
    n_train = len(dataset.train_x)
    n_val = max(1, int(round(VALIDATION_FRACTION * n_train)))
    if n_train - n_val < 1:
        raise ValueError(f"Selecting on validation needs at least 2 training windows, got {n_train}.")
    if dataset.independent_series:
        order = np.random.default_rng(seed).permutation(n_train)
        train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    else:
        train, val = np.arange(n_train - n_val), np.arange(n_train - n_val, n_train)
    return dataset.train_x[train], dataset.train_y[train], dataset.train_x[val], dataset.train_y[val]


def epochs_text(epochs: dict[str, int]) -> str:
    """'MSE 40, soft-DTW 50, DILATE 30' from {loss: epoch}, e.g. each model's best validation epoch."""
    return ", ".join(f"{LOSS_LABELS[name]} {epoch}" for name, epoch in epochs.items())


def preview_indices(n_test: int, n_preview: int) -> np.ndarray:
    """The fixed test series whose forecasts the reports carry: n_preview spread evenly."""
    return np.linspace(0, n_test - 1, min(n_preview, n_test)).astype(int)


@dataclass
class EpochReport:
    """What one epoch produced, per loss name. Plain floats and lists: easy to pickle and plot."""

    epoch: int  # 1-based
    seconds: float  # wall time of this epoch's training and evaluation
    train: dict[str, dict[str, float]]  # loss -> {'loss', 'shape', 'temporal'} means over batches
    test: dict[str, dict[str, float]] | None = None  # loss -> {'mse', 'dtw', 'tdi'}, eval epochs only
    val: dict[str, float] | None = None  # loss -> its own loss on the validation split (select_on_validation)
    previews: dict[str, list] | None = None  # loss -> forecasts (n_preview, n_output, d), eval epochs
    stopped: list[str] = field(default_factory=list)  # losses whose model stopped early at this epoch
    timing: dict[str, float] = field(default_factory=dict)  # seconds: forward, loss, backward, optimizer, eval


def _training_loss(name: str, pred, target, alpha: float, gamma: float):
    """The loss to minimise and its reported DILATE parts (shape, temporal) for one batch."""
    if name not in ("soft_dtw", "dilate"):  # the DILATE parts are only reported
        with torch.no_grad():
            _, shape, temporal = dilate_loss(pred, target, alpha, gamma)
        if name == "mse":
            return torch.mean((pred - target) ** 2), shape, temporal
        if name == "sdtw_div":
            return soft_dtw_divergence(pred, target, gamma).mean(), shape, temporal
        omega = name.removeprefix("dilate_t_")  # weighted or band
        return dilate_t_loss(pred, target, alpha, gamma, omega=omega), shape, temporal
    loss, shape, temporal = dilate_loss(pred, target, 1.0 if name == "soft_dtw" else alpha, gamma)
    return loss, shape, temporal


class Trainer:
    """One model and one Adam optimizer per loss, trained in lockstep."""

    def __init__(self, config, dataset: data_module.Dataset):
        self.config, self.dataset = config, dataset
        self.device = torch.device(config.device)
        torch.manual_seed(config.seed)
        first = build_model(config.model, dataset.n_features, dataset.n_input, dataset.n_output, config.hidden)
        self.models = {name: copy.deepcopy(first).to(self.device) for name in config.losses}
        self.optimizers = {name: torch.optim.Adam(m.parameters(), lr=config.lr) for name, m in self.models.items()}
        self.reports: list[EpochReport] = []
        train_x, train_y = dataset.train_x, dataset.train_y
        if config.select_on_validation:
            train_x, train_y, val_x, val_y = validation_split(dataset, config.data_seed)
            self._val_x, self._val_y = torch.from_numpy(val_x).to(self.device), torch.from_numpy(val_y).to(self.device)
        # loss -> {'epoch', 'loss', 'state', 'stale'}: its lowest validation loss so far, and the
        # evaluations since then without a lower one
        self.best: dict[str, dict] = {}
        self.stopped: dict[str, int] = {}  # loss -> the epoch its model stopped at (early stopping)
        self._train_x = torch.from_numpy(train_x).to(self.device)
        self._train_y = torch.from_numpy(train_y).to(self.device)
        self._test_x = torch.from_numpy(dataset.test_x).to(self.device)
        self._test_y = torch.from_numpy(dataset.test_y).to(self.device)
        self.preview_index = preview_indices(len(dataset.test_x), config.n_preview)

    @property
    def epoch(self) -> int:
        return len(self.reports)

    @property
    def best_epochs(self) -> dict[str, int]:
        """loss -> the epoch of its model's lowest validation loss so far (select_on_validation)."""
        return {name: best["epoch"] for name, best in self.best.items()}

    def best_models(self) -> dict[str, torch.nn.Module]:
        """Each model with its weights from its lowest validation loss (its current ones if none was measured)."""
        models = {}
        for name, model in self.models.items():
            if name in self.best:
                model = copy.deepcopy(model)
                model.load_state_dict(self.best[name]["state"])
            models[name] = model
        return models

    def _forecasts(self, models: dict, x: torch.Tensor, batch_size: int = 1000) -> dict[str, torch.Tensor]:
        """loss -> forecasts (n, n_output, d) of its model for inputs x (n, n_input, d), without gradients."""
        out = {}
        with torch.no_grad():
            for name, model in models.items():
                model.eval()
                out[name] = torch.cat(
                    [model(x[i : i + batch_size].to(self.device)) for i in range(0, len(x), batch_size)]
                )
                model.train()
        return out

    def predict(self, x, best: bool = False) -> dict[str, np.ndarray]:
        """Forecasts of every model for inputs (n, n_input, d), tensor or array -> loss -> (n, n_output, d).

        best: with each model's weights from its lowest validation loss (see `best_models`).
        """
        x = torch.as_tensor(x, dtype=torch.float32)
        models = self.best_models() if best else self.models
        return {name: pred.cpu().numpy() for name, pred in self._forecasts(models, x).items()}

    def evaluate(self, best: bool = False) -> dict[str, dict[str, float]]:
        """Test MSE, DTW and TDI of every model (best: with its best validation weights)."""
        return self._test_metrics(self.best_models() if best else self.models)

    def _test_metrics(self, models: dict) -> dict[str, dict[str, float]]:
        forecasts = self._forecasts(models, self._test_x)
        return {name: evaluate(pred.cpu().numpy(), self.dataset.test_y) for name, pred in forecasts.items()}

    def _validate(self, epoch: int, names: list[str]) -> tuple[dict[str, float], list[str]]:
        """The named models' own training loss on the validation split, and those that stop now.

        Remembers each model's best weights; with config.patience, a model whose validation loss
        has not gone lower for `patience` evaluations stops and goes back to its best weights.
        """
        losses, stopping = {}, []
        for name, pred in self._forecasts({name: self.models[name] for name in names}, self._val_x).items():
            with torch.no_grad():
                loss = _training_loss(name, pred, self._val_y, self.config.alpha, self.config.gamma)[0].item()
            losses[name] = loss
            best = self.best.get(name)
            if best is None or loss < best["loss"]:
                state = copy.deepcopy(self.models[name].state_dict())
                self.best[name] = {"epoch": epoch, "loss": loss, "state": state, "stale": 0}
                continue
            best["stale"] = best.get("stale", 0) + 1
            if self.config.patience and best["stale"] >= self.config.patience:
                self.models[name].load_state_dict(best["state"])
                self.stopped[name] = epoch
                stopping.append(name)
        return losses, stopping

    def _train_epoch(self, name: str, batches: list[torch.Tensor]) -> tuple[np.ndarray, dict[str, float]]:
        """One epoch of one model: batch, forward, loss, zero_grad, backward, step (with the MSE
        loss during config.mse_warmup's first epochs).

        Returns the summed (loss, shape, temporal) over batches and the seconds spent per phase.
        """
        model, optimizer, config = self.models[name], self.optimizers[name], self.config
        loss_name = "mse" if self.epoch < config.mse_warmup else name
        sums, timing = np.zeros(3), dict.fromkeys(("forward", "loss", "backward", "optimizer"), 0.0)
        for index in batches:
            x, y = self._train_x[index], self._train_y[index]  # (b, n_input, d), (b, n_output, d)
            t0 = time.perf_counter()
            pred = model(x)
            t1 = time.perf_counter()
            loss, shape, temporal = _training_loss(loss_name, pred, y, config.alpha, config.gamma)
            t2 = time.perf_counter()
            optimizer.zero_grad()
            loss.backward()
            t3 = time.perf_counter()
            optimizer.step()
            t4 = time.perf_counter()
            timing["forward"] += t1 - t0
            timing["loss"] += t2 - t1
            timing["backward"] += t3 - t2  # through the loss and the model together
            timing["optimizer"] += t4 - t3
            sums += [loss.item(), shape.item(), temporal.item()]
        return sums, timing

    def _training(self) -> list[str]:
        """The losses whose models have not stopped early."""
        return [name for name in self.models if name not in self.stopped]

    def run(self, epochs: int | None = None, test_metrics: bool = True):
        """Train for `epochs` more epochs (default: the config's), yielding an EpochReport after each.

        With test_metrics, every evaluation also scores each model on the test split (report.test,
        the live curves). Without, evaluations only validate and preview: what a sweep, which keeps
        only the final scores, needs; on ECG5000's 4500 test series that halves a run's time. The
        training is the same either way.

        Models stopped early (config.patience) no longer train nor appear in the reports' train
        and test entries; the run ends early when every model has stopped. With config.parallel,
        each model trains in its own thread with torch on one thread (restored when the generator
        ends): the models' small GRU steps then overlap.
        """
        config = self.config
        pool = ThreadPoolExecutor(len(self.models)) if config.parallel and len(self.models) > 1 else None
        torch_threads = torch.get_num_threads()
        if pool:
            torch.set_num_threads(1)
        try:
            count = config.epochs if epochs is None else epochs
            last = self.epoch + count
            for _ in range(count):
                names = self._training()
                if not names:
                    return
                start = time.perf_counter()
                # Same batch order for every model; reproducible from the seed and the epoch.
                generator = torch.Generator().manual_seed(config.seed * 100_003 + self.epoch)
                order = torch.randperm(len(self._train_x), generator=generator).to(self.device)
                batches = list(order.split(config.batch_size))
                if pool:
                    results = list(pool.map(self._train_epoch, names, [batches] * len(names)))
                else:
                    results = [self._train_epoch(name, batches) for name in names]
                parts = ("loss", "shape", "temporal")
                train = {
                    name: dict(zip(parts, (sums / len(batches)).tolist(), strict=True))
                    for name, (sums, _) in zip(names, results, strict=True)
                }
                timing = {key: sum(t[key] for _, t in results) for key in results[0][1]} | {"eval": 0.0}
                report = EpochReport(epoch=self.epoch + 1, seconds=0.0, train=train, timing=timing)
                # every eval_every epochs, the first, and the last this call trains: a run's end is always scored
                if report.epoch % config.eval_every == 0 or report.epoch == 1 or report.epoch == last:
                    t0 = time.perf_counter()
                    if test_metrics:
                        report.test = self._test_metrics({name: self.models[name] for name in names})
                    if config.select_on_validation and report.epoch > config.mse_warmup:
                        report.val, report.stopped = self._validate(report.epoch, names)
                    report.previews = self._previews()
                    timing["eval"] = time.perf_counter() - t0
                report.seconds = time.perf_counter() - start
                self.reports.append(report)
                yield report
        finally:
            if pool:
                pool.shutdown()
                torch.set_num_threads(torch_threads)

    def _previews(self) -> dict[str, list] | None:
        """loss -> forecasts of the fixed preview test series, as lists; None when n_preview = 0."""
        if not len(self.preview_index):
            return None
        return {name: p.tolist() for name, p in self.predict(self._test_x[self.preview_index]).items()}

    def initial_report(self, test_metrics: bool = True) -> EpochReport:
        """The models as this run finds them, before it trains: their preview forecasts and (with
        test_metrics) test metrics at epoch `self.epoch` (0 for a new run: every model still has
        the same weights), no training losses. Not kept in `reports`; a live view shows it at
        once. Without test_metrics it takes milliseconds; with them, a forecast of every test
        series (ECG5000's 4500: seconds)."""
        start = time.perf_counter()
        models = {name: self.models[name] for name in self._training()}
        test = self._test_metrics(models) if test_metrics else None
        report = EpochReport(epoch=self.epoch, seconds=0.0, train={}, test=test)
        report.previews = self._previews()
        report.seconds = time.perf_counter() - start
        return report

    def save(self, path) -> None:
        """Config, data settings, weights, optimizer states and reports, in one torch file (a path is
        written whole or not at all, see `save_whole`; a file object as it is)."""
        save_whole(
            {
                "config": asdict(self.config),
                "dataset": {"name": self.dataset.name, "info": self.dataset.info},
                "models": {name: model.state_dict() for name, model in self.models.items()},
                "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
                "reports": [asdict(report) for report in self.reports],
                "best": self.best,
                "stopped": self.stopped,
            },
            path,
        )

    @classmethod
    def load(cls, path, dataset: data_module.Dataset | None = None) -> "Trainer":
        """A saved run, ready to continue; the built-in data set is rebuilt unless one is given."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        config = Config.from_dict(state["config"])
        trainer = cls(config, dataset if dataset is not None else load_dataset(config))
        for name, model in trainer.models.items():
            model.load_state_dict(state["models"][name])
            trainer.optimizers[name].load_state_dict(state["optimizers"][name])
        trainer.reports = [EpochReport(**report) for report in state["reports"]]
        trainer.best = state.get("best", {})
        trainer.stopped = state.get("stopped", {})
        return trainer
