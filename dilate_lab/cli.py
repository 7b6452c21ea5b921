"""Command line: train one run of the three losses, reproduce the paper's Table 1 over seeds, or
run a sweep (a grid of settings times seeds, see dilate_lab.sweep).

python -m dilate_lab train --dataset synthetic --epochs 100
python -m dilate_lab reproduce --dataset synthetic --runs 10 --out assets
python -m dilate_lab sweep sweeps/table1_synthetic.toml
"""

import argparse
import shlex
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from dilate_core import warmup
from dilate_lab import paper, shipped
from dilate_lab.settings import SETTINGS
from dilate_lab.train import Config, Trainer, epochs_text, load_dataset


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per setting, with its help and default; unset options take the data source's defaults."""
    for setting in SETTINGS.values():
        default = setting.text(setting.default).replace(",", " ")
        options = {"help": f"{setting.help} (default: {default})".replace("%", "%%"), "default": None}
        if setting.kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif setting.kind is tuple:
            options |= {"nargs": "+", "choices": setting.choices}
        else:
            options |= {"type": setting.kind, "choices": setting.choices}
        parser.add_argument(f"--{setting.name.replace('_', '-')}", **options)


def _config_from(args) -> Config:
    """The options given; Config fills the rest (the data source's defaults: ECG5000 84 -> 56 steps)."""
    return Config(**{name: getattr(args, name) for name in SETTINGS if getattr(args, name, None) is not None})


def _progress(report, total: int, stream=sys.stderr) -> None:
    width = 30
    done = int(width * report.epoch / max(total, 1))
    losses = "  ".join(f"{name} {part['loss']:.4f}" for name, part in report.train.items())
    stream.write(f"\r[{'#' * done}{'.' * (width - done)}] epoch {report.epoch}/{total}  {losses}")
    stream.flush()


SAVE_EVERY = 50  # epochs between the saves of a run trained with --save: a killed run resumes from the last


def _train(trainer: Trainer, save=None) -> float:
    """Train up to the config's epochs with a progress bar on stderr, saving to `save` (if given)
    every SAVE_EVERY epochs; returns the seconds taken."""
    start = time.perf_counter()
    for report in trainer.run(trainer.config.epochs - trainer.epoch):
        _progress(report, trainer.config.epochs)
        if save and report.epoch % SAVE_EVERY == 0:
            trainer.save(save)
    return time.perf_counter() - start


def metrics_table(results: dict[str, dict[str, float]], dataset: str) -> str:
    """A plain-text table: one row per loss, MSE, DTW and TDI at the paper's scale for this data set."""
    scales = paper.scales(dataset)
    lines = [f"{'loss':<10} " + " ".join(f"{f'{m.upper()} x{s:g}':>10}" for m, s in scales.items())]
    for name, scores in results.items():
        lines.append(f"{name:<10} " + " ".join(f"{scores[m] * s:>10.3f}" for m, s in scales.items()))
    return "\n".join(lines)


def train_command(args) -> int:
    config = _config_from(args)
    warmup()
    if args.resume and args.save and Path(args.save).exists():
        trainer = Trainer.load(args.save)  # its own settings, those of the run it continues, up to --epochs
        if asdict(trainer.config) | {"epochs": config.epochs} != asdict(config):
            sys.stderr.write(f"{args.save} was trained with other settings: resuming with its own\n")
        trainer.config.epochs = config.epochs
        sys.stderr.write(f"resuming {args.save} at epoch {trainer.epoch}\n")
    else:
        trainer = Trainer(config, load_dataset(config))
    seconds = _train(trainer, args.save)
    sys.stderr.write(f"\n{trainer.epoch} epochs in {seconds:.1f} s\n")
    print(metrics_table(trainer.evaluate(best=config.select_on_validation), config.dataset))
    if trainer.best:
        print("weights from the epochs of lowest validation loss: " + epochs_text(trainer.best_epochs))
    if trainer.stopped:
        print("stopped early at epoch: " + epochs_text(trainer.stopped))
    if args.save:
        trainer.save(args.save)
        print(f"saved to {args.save}")
    if args.ship:
        shipped.save(trainer, args.ship, "python -m dilate_lab " + shlex.join(sys.argv[1:]))
        print(f"packed for the app in {args.ship} ({Path(args.ship).stat().st_size / 2**20:.1f} MB)")
    return 0


def reproduce_command(args, argv: list[str]) -> int:
    """The paper's protocol over seeds for one setting: a sweep with one cell (see sweep_command)."""
    from dilate_lab import sweep as sweeps

    config = _config_from(args)
    plan = sweeps.Sweep(asdict(config), {}, args.runs)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.out) if args.out else Path(scratch)
        summary = sweeps.run_sweep(
            plan, folder, sweeps.LocalExecutor(args.workers), command="python -m dilate_lab " + shlex.join(argv)
        )
        print(summary.read_text())
    if args.out:
        print(f"wrote {summary}, {summary.with_suffix('.csv')} and the store {folder / sweeps.STORE_NAME}")
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # the same stop as Ctrl-C: running workers end, the store keeps finished runs


def sweep_command(args, argv: list[str]) -> int:
    from tqdm import tqdm

    from dilate_lab import sweep as sweeps

    base, out = sweeps.Sweep.from_file(args.file) if args.file else (sweeps.Sweep(runs=1), None)
    given = {name: getattr(args, name) for name in SETTINGS if getattr(args, name, None) is not None}
    grid = base.grid | {name: [SETTINGS[name].parse(v) for v in values] for name, *values in args.grid or []}
    plan = sweeps.Sweep(base.settings | given, grid, args.runs or base.runs)
    out = args.out or out
    if out is None:
        raise ValueError("Name the sweep's folder with --out (or `out = ...` in the sweep file).")
    executor = sweeps.executor_from(args.ray, args.workers, args.threads)
    bar = None

    def progress(done: int, total: int, failed: int) -> None:
        nonlocal bar
        if bar is None:  # the runs already in the store count as done, not in the rate or the time left
            bar = tqdm(total=total, initial=done, unit="run", dynamic_ncols=True)
        bar.set_postfix(failed=failed, refresh=False)
        bar.update(done - bar.n)

    # `kill PID` of a sweep started in the background (where bash makes it ignore SIGINT) stops it
    # as Ctrl-C does; otherwise its pool's workers would train on, orphaned, to their runs' end.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        summary = sweeps.run_sweep(plan, out, executor, progress, "python -m dilate_lab " + shlex.join(argv))
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
            sys.stderr.write(f"Interrupted: {bar.n} of {bar.total} runs are in the store; the same command resumes.\n")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if bar is not None:
            bar.close()
    print(summary.read_text())
    print(f"wrote {summary}, {summary.with_suffix('.csv')} and the store {Path(out) / sweeps.STORE_NAME}")
    return 0


def pack_command(args) -> int:
    """Pack a run saved by `train --save` as the app ships it (see dilate_lab.shipped)."""
    trainer = Trainer.load(args.saved)
    command = args.command_text or f"python -m dilate_lab pack {shlex.quote(args.saved)} {shlex.quote(args.out)}"
    shipped.save(trainer, args.out, command, args.code_version)
    print(f"packed {args.saved} into {args.out} ({Path(args.out).stat().st_size / 2**20:.1f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dilate_lab", description="DILATE Explorer's lab: the paper's experiments."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one model per loss side by side and print the test metrics")
    _add_config_arguments(train)
    train.add_argument(
        "--save", help=f"write the run (weights, config, reports) to this file, also every {SAVE_EVERY} epochs"
    )
    train.add_argument("--resume", action="store_true", help="continue the run in --save if it exists")
    train.add_argument("--ship", help="also pack the run as the app ships it (best weights, replay, scores) here")
    pack = commands.add_parser("pack", help="pack a run saved with train --save as the app ships it")
    pack.add_argument("saved", help="a run saved by train --save")
    pack.add_argument("out", help="the packed file to write, e.g. assets/runs/synthetic.pt")
    pack.add_argument("--command-text", help="the command that trained the run, recorded in the packed file")
    pack.add_argument("--code-version", help="the git commit that trained the run (default: this checkout's)")
    reproduce = commands.add_parser(
        "reproduce", help="repeat the paper's protocol over seeds, next to Table 1 (a sweep with one cell)"
    )
    _add_config_arguments(reproduce)
    reproduce.add_argument("--runs", type=int, default=10, help="seeded runs (default: 10, as the paper)")
    reproduce.add_argument("--out", help="the sweep's folder: its store and summary (default: none kept)")
    reproduce.add_argument("--workers", type=int, help="local processes at once (default: the cores)")
    sweep = commands.add_parser(
        "sweep",
        help="train a grid of settings times seeded runs, locally or on a Ray cluster, resumably",
        description="Options given here override the sweep file's [settings]; a task already done in the "
        "folder's store is not trained again.",
    )
    sweep.add_argument("file", nargs="?", help="a sweep file (TOML), e.g. sweeps/table1_synthetic.toml")
    _add_config_arguments(sweep)
    sweep.add_argument(
        "--grid",
        nargs="+",
        action="append",
        metavar=("NAME", "VALUE"),
        help="a setting and the values to try, e.g. --grid gamma 0.01 0.1 (repeatable; adds to the file's grid)",
    )
    sweep.add_argument("--runs", type=int, help="seeded runs per cell (default: the file's, else 1)")
    sweep.add_argument("--out", help="the sweep's folder: its store and summary (default: the file's out)")
    sweep.add_argument("--workers", type=int, help="local processes at once (default: cores // threads)")
    sweep.add_argument("--threads", type=int, default=1, help="torch and numba threads per task (default: 1)")
    sweep.add_argument("--ray", metavar="ADDRESS", help="run on this Ray cluster (default: RAY_ADDRESS if set)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return train_command(args)
        if args.command == "pack":
            return pack_command(args)
        return (sweep_command if args.command == "sweep" else reproduce_command)(args, argv)
    except ValueError as error:
        parser.error(str(error))
