"""The authors' published DILATE code on ECG5000, with our data split: is the stall ours?

Trains the published repository's own Seq2Seq (models/seq2seq.py) with its own loss
(loss/dilate_loss.py) and its training loop's settings (Adam at 1e-3, batch 100, shuffled,
gamma 0.01, alpha 0.5) on ECG5000 as we split it (84 -> 56 steps, a seeded random 100 of the
500 training series for validation: dilate_core.data.load_ecg5000, train.validation_split),
once with the MSE loss and once with DILATE per seed. Every `--eval-every` epochs each model's
own loss on the validation series is measured and its lowest-validation weights kept (our
protocol's best-validation weights); at the end the 4,499 test series are scored with our
metrics (dilate_core.metrics.evaluate) at the paper's scale, with the last and with the best
weights. Each finished (seed, loss) appends one row to results/ecg_published/ecg_published.csv,
so a stopped run keeps what it finished and a rerun skips it.

The published code is GPL-3.0: nothing of it is copied here; it is imported at run time from
its own checkout, named by the DILATE_PUBLISHED environment variable.

    DILATE_PUBLISHED=/path/to/DILATE python -m bench.ecg_published --seeds 1 2 --epochs 300
"""

import argparse
import copy
import csv
import os
import sys
import time
from pathlib import Path

import torch

from dilate_core.metrics import evaluate
from dilate_lab import paper
from dilate_lab.data import load_ecg5000
from dilate_lab.train import validation_split

ALPHA, GAMMA, LR, BATCH, HIDDEN, FC_UNITS = 0.5, 0.01, 1e-3, 100, 128, 16  # the published main.py's
OUT = paper.RESULTS / "ecg_published" / "ecg_published.csv"
COLUMNS = ["seed", "loss", "epochs", "best_epoch", "protocol", "mse", "dtw", "tdi", "seconds"]


def published_modules():
    """The published code's (Seq2Seq module, dilate_loss module), imported from $DILATE_PUBLISHED."""
    checkout = os.environ.get("DILATE_PUBLISHED")
    if not checkout or not (Path(checkout) / "loss" / "dilate_loss.py").exists():
        sys.exit("Set DILATE_PUBLISHED to a checkout of the published DILATE code (it holds loss/dilate_loss.py).")
    sys.path.insert(0, checkout)
    from loss import dilate_loss  # noqa: PLC0415 (the checkout is known only at run time)
    from models import seq2seq  # noqa: PLC0415

    return seq2seq, dilate_loss


def build_net(seq2seq, n_output: int):
    encoder = seq2seq.EncoderRNN(input_size=1, hidden_size=HIDDEN, num_grulstm_layers=1, batch_size=BATCH)
    decoder = seq2seq.DecoderRNN(
        input_size=1, hidden_size=HIDDEN, num_grulstm_layers=1, fc_units=FC_UNITS, output_size=1
    )
    return seq2seq.Net_GRU(encoder, decoder, n_output, torch.device("cpu"))


def forecast(net, x: torch.Tensor) -> torch.Tensor:
    """(B, N_out, 1) forecasts of any number of series: the published encoder's initial state
    is sized by its `batch_size` attribute, so it is set to this call's batch."""
    net.encoder.batch_size = len(x)
    with torch.no_grad():
        out = net(x)
    net.encoder.batch_size = BATCH
    return out


def loss_of(loss: str, dilate_loss, target: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
    if loss == "mse":
        return torch.nn.functional.mse_loss(outputs, target)
    return dilate_loss.dilate_loss(target, outputs, ALPHA, GAMMA, torch.device("cpu"))[0]  # as main.py calls it


def train_one(seed: int, loss: str, epochs: int, eval_every: int, modules) -> list[dict]:
    """Two result rows (last and best-validation weights) of one published Seq2Seq trained with `loss`."""
    seq2seq, dilate_loss = modules
    start = time.perf_counter()
    dataset = load_ecg5000()
    train_x, train_y, val_x, val_y = (torch.from_numpy(a) for a in validation_split(dataset, seed))
    torch.manual_seed(seed)
    net = build_net(seq2seq, train_y.shape[1])
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    best = (float("inf"), 0, copy.deepcopy(net.state_dict()))
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(train_x), generator=generator)
        for batch in order.split(BATCH):
            if len(batch) < BATCH:  # the published encoder needs full batches (400 = 4 x 100 here)
                continue
            value = loss_of(loss, dilate_loss, train_y[batch], net(train_x[batch]))
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
        if epoch % eval_every == 0:
            val = float(loss_of(loss, dilate_loss, val_y, forecast(net, val_x)))
            if val < best[0]:
                best = (val, epoch, copy.deepcopy(net.state_dict()))
            elapsed = time.perf_counter() - start
            print(f"seed {seed} {loss} epoch {epoch}: validation {val:.4g} ({elapsed:.0f} s)", flush=True)
    seconds = time.perf_counter() - start
    scales = paper.scales("ecg5000")
    test_x = torch.from_numpy(dataset.test_x)
    rows = []
    for protocol in ("last", "best"):
        if protocol == "best":
            net.load_state_dict(best[2])
        scores = evaluate(forecast(net, test_x).numpy(), dataset.test_y)
        rows.append(
            {"seed": seed, "loss": loss, "epochs": epochs, "best_epoch": best[1], "protocol": protocol}
            | {metric: f"{scores[metric] * scales[metric]:.4g}" for metric in paper.TABLE1_METRICS}
            | {"seconds": f"{seconds:.0f}"}
        )
    return rows


def stored(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--losses", nargs="+", default=["mse", "dilate"], choices=["mse", "dilate"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    modules = published_modules()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = {(int(r["seed"]), r["loss"], int(r["epochs"])) for r in stored(args.out)}
    for seed in args.seeds:
        for loss in args.losses:
            if (seed, loss, args.epochs) in done:
                continue
            rows = train_one(seed, loss, args.epochs, args.eval_every, modules)
            new = not args.out.exists()
            with open(args.out, "a", newline="") as handle:
                writer = csv.DictWriter(handle, COLUMNS)
                if new:
                    writer.writeheader()
                writer.writerows(rows)
            for row in rows:
                print(row, flush=True)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
