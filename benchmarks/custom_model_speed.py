"""Does the fast trainer's advantage carry over to your own model? A CNN epoch, two ways, one run.

    python benchmarks/custom_model_speed.py            # about 2 minutes on 2 CPU cores
    python benchmarks/custom_model_speed.py --subset 0 --repeats 3   # all 60,000 images

The same model (``examples/mnist_cnn.py:build``, channels 16, dropout 0.25, hidden 128), Adam at
lr 1e-3, batch size 64, trained on the same MNIST images (``../shared/data`` beside the checkout, or
``--data-root``; a generated set of the same shape when absent):

1. **dataloader**: the official PyTorch MNIST example's loop (pytorch/examples mnist/main.py): a
   torchvision ``MNIST`` with ``ToTensor()`` and ``Normalize``, a ``DataLoader``, ``loss.item()``
   every 10 batches for the log, the test set every epoch;
2. **hpsearch**: one trial through ``run_search`` with ``model:`` naming the same function: the
   run folder written, train and validation accuracy measured every epoch.

The two ways alternate (the order rotates each repeat); the table gives the median seconds per
epoch and their ratio. Timings on a shared machine vary: compare the ratio within one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

import mnist_data  # noqa: E402
import torch  # noqa: E402
from ways import BENCH_DATASET, example_loop, register_dataset  # noqa: E402

from hpsearch.data import Dataset  # noqa: E402
from hpsearch.data.preprocessing import Preprocessing  # noqa: E402
from hpsearch.search.run import run_search  # noqa: E402
from hpsearch.space.config import DataConfig, SearchConfig  # noqa: E402
from hpsearch.space.modelref import parse_reference, read_model  # noqa: E402
from hpsearch.training.usermodel import load_function  # noqa: E402

MODEL = REPO / "examples" / "mnist_cnn.py"
PARAMS = {"channels": 16, "dropout": 0.25, "hidden": 128}
WAYS = ("dataloader", "hpsearch")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", type=Path, default=mnist_data.DEFAULT_ROOT, help="folder holding MNIST/raw/*.gz [default: ../shared/data]")
    p.add_argument("--data", choices=["auto", "real", "generated"], default="auto", help="[default: auto: real when found]")
    p.add_argument("--subset", type=int, default=6000, help="training images (0: all 60,000) [default: 6000]")
    p.add_argument("--epochs", type=int, default=1, help="epochs per repeat [default: 1]")
    p.add_argument("--repeats", type=int, default=2, help="timed repeats of both ways [default: 2]")
    p.add_argument("--batch-size", type=int, default=64, help="[default: 64]")
    p.add_argument("--threads", type=int, default=1, help="torch threads for both ways [default: 1]")
    return p.parse_args(argv)


def build() -> torch.nn.Module:
    function = load_function(read_model(parse_reference(f"{MODEL}:build", None)))
    return function((1, 28, 28), 10, **PARAMS)


def way_dataloader(args: argparse.Namespace, train_set: Any, test_set: Any) -> tuple[float, float]:
    """(seconds per epoch, test accuracy) with the official example's train/test loop."""
    torch.manual_seed(0)
    timing = example_loop(build(), train_set, test_set, args.batch_size, args.epochs, torch.device("cpu"))
    return timing.wall / args.epochs, timing.accuracy


def way_hpsearch(args: argparse.Namespace, runs_root: Path) -> tuple[float, float, float]:
    """(seconds per epoch, validation accuracy, evaluation's share of the epochs) of one trial through
    run_search; the time counts the epochs, not the once-per-search start (data to the device, the
    model file imported)."""
    config = SearchConfig(name="bench", trials=1, epochs=args.epochs, device="cpu", threads=args.threads,
                          model=read_model(parse_reference(f"{MODEL}:build", None)), data=DataConfig(dataset=BENCH_DATASET),
                          fixed={"optimizer": "adam", "lr": 1e-3, "batch_size": args.batch_size, **PARAMS})
    result = run_search(config, Path(tempfile.mkdtemp(dir=runs_root)) / "run")
    trial = result.trials[0][1]
    if trial.status != "completed":
        raise RuntimeError(f"hpsearch trial {trial.status}: {trial.error}")
    seconds = sum(e.seconds for e in trial.epochs)
    return seconds / args.epochs, trial.epochs[-1].val_acc or 0.0, sum(e.eval_seconds for e in trial.epochs) / seconds


def prepare(args: argparse.Namespace, workdir: Path) -> tuple[Any, Any, str]:
    from torchvision import datasets, transforms

    raw = mnist_data.mnist_raw_dir(args.data_root) if args.data != "generated" else None
    if args.data == "real" and raw is None:
        raise SystemExit(f"error: --data real but no MNIST/raw/*.gz under {args.data_root}")
    n_train = args.subset or 60_000
    images = mnist_data.load_real(raw) if raw is not None else mnist_data.generate(n_train, max(n_train // 6, 100))
    g = torch.Generator().manual_seed(0)
    train = torch.randperm(len(images.y_train), generator=g)[:n_train].sort().values
    test = torch.randperm(len(images.y_test), generator=g)[: max(n_train // 6, 100)].sort().values
    mnist_data.write_torchvision_folder(images, raw, workdir)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mnist_data.MEAN,), (mnist_data.STD,))])
    tv_train = torch.utils.data.Subset(datasets.MNIST(workdir, train=True, download=True, transform=transform), train.tolist())
    tv_test = torch.utils.data.Subset(datasets.MNIST(workdir, train=False, download=True, transform=transform), test.tolist())
    x, y = mnist_data.normalized(images.x_train[train]), images.y_train[train]
    x_val, y_val = mnist_data.normalized(images.x_test[test]), images.y_test[test]
    register_dataset(Dataset("mnist", x, y, x_val, y_val, num_classes=10, preprocessing=Preprocessing((1, 28, 28))))
    return tv_train, tv_test, f"{images.source}: {len(y)} training images, {len(y_val)} held out"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tv_train, tv_test, source = prepare(args, Path(tmp))
        runs = Path(tmp) / "runs"
        runs.mkdir()
        times: dict[str, list[float]] = {w: [] for w in WAYS}
        accs: dict[str, list[float]] = {w: [] for w in WAYS}
        eval_share: list[float] = []
        way_hpsearch(argparse.Namespace(**{**vars(args), "epochs": 1}), runs)  # untimed warm-up of both
        for rep in range(args.repeats):
            for way in WAYS[rep % 2 :] + WAYS[: rep % 2]:
                if way == "dataloader":
                    seconds, acc = way_dataloader(args, tv_train, tv_test)
                else:
                    seconds, acc, share = way_hpsearch(args, runs)
                    eval_share.append(share)
                times[way].append(seconds)
                accs[way].append(acc)
                print(f"  repeat {rep + 1}/{args.repeats}  {way:<10} {seconds:7.2f} s/epoch  acc {acc:.4f}", file=sys.stderr)
    med = {w: statistics.median(times[w]) for w in WAYS}
    out = {"source": source, "threads": args.threads, "batch_size": args.batch_size, "epochs": args.epochs,
           "seconds_per_epoch": med, "speedup": med["dataloader"] / med["hpsearch"],
           "accuracy": {w: statistics.median(accs[w]) for w in WAYS}, "hpsearch_eval_share": statistics.median(eval_share)}
    print(f"{source}; {MODEL.name}:build {PARAMS}, Adam lr 1e-3, batch {args.batch_size}, {args.threads} thread(s), "
          f"{args.epochs} epoch(s) x {args.repeats} repeats (medians)")
    print(f"dataloader {med['dataloader']:.2f} s/epoch (acc {out['accuracy']['dataloader']:.4f}, test set each epoch); "
          f"hpsearch {med['hpsearch']:.2f} s/epoch (acc {out['accuracy']['hpsearch']:.4f}; train and val accuracy "
          f"measured every epoch: {out['hpsearch_eval_share']:.0%} of it); speed-up {out['speedup']:.2f}x")
    return out


if __name__ == "__main__":
    main()
