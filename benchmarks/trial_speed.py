"""How fast does hpsearch train a trial, against what users run today and against the compute floor?

    python benchmarks/trial_speed.py                 # a few minutes on 2 CPU cores
    python benchmarks/trial_speed.py --subset 0 --epochs 3 --repeats 3   # all 60,000 images

Trains a 784-256-256-10 MLP (with and without BatchNorm1d, Adam, batch sizes 64 and 256) on MNIST
(``../shared/data`` next to the checkout, or ``--data-root``; a generated set of the same shape when
absent) three ways (see ``ways.py``), interleaved and repeated, and prints the median seconds per
epoch, the ratios, the accuracy each way reached, hpsearch's own per-trial overhead and the CLI's
start-up times. Timings on a shared machine are noisy: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

import mnist_data  # noqa: E402
import torch  # noqa: E402
from ways import Setting, Timing, register_dataset, way_dataloader, way_floor, way_hpsearch  # noqa: E402

from hpsearch.data import Dataset  # noqa: E402
from hpsearch.reports.tables import render_table  # noqa: E402

WAY_NAMES = ("dataloader", "hpsearch", "floor")
TARGETS = {"cpu": 3.0, "cuda": 20.0}  # minimum speed-up over the DataLoader loop
FLOOR_TARGET = 1.3  # hpsearch within this factor of the floor
HELP_TARGET = 0.5  # seconds for `hpsearch --help`


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=2, help="epochs per training run (default: 2)")
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats; medians are reported (default: 3)")
    p.add_argument("--subset", type=int, default=12_000,
                   help="training images used (0: all 60,000); the test set is cut to a sixth of it (default: 12000)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256], help="default: 64 256")
    p.add_argument("--batchnorm", choices=["both", "on", "off"], default="both", help="default: both")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (default: auto)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads for all ways (default: torch's choice)")
    p.add_argument("--data", choices=["auto", "real", "generated"], default="auto",
                   help="auto: real MNIST when found (default: auto)")
    p.add_argument("--data-root", type=Path, default=mnist_data.DEFAULT_ROOT,
                   help="folder holding MNIST/raw/*.gz (default: ../shared/data next to the checkout)")
    p.add_argument("--cli-repeats", type=int, default=5, help="runs per CLI command timed; 0 skips them (default: 5)")
    return p.parse_args(argv)


def load_images(args: argparse.Namespace) -> tuple[mnist_data.Images, Path | None]:
    raw = mnist_data.mnist_raw_dir(args.data_root) if args.data != "generated" else None
    if args.data == "real" and raw is None:
        raise SystemExit(f"error: --data real but no MNIST/raw/*.gz under {args.data_root}")
    if raw is not None:
        return mnist_data.load_real(raw), raw
    n_train = args.subset or 60_000
    return mnist_data.generate(n_train, max(n_train // 6, 100)), None


def pick(images: mnist_data.Images, subset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The same training and test indices for every way (seeded, so every run uses the same ones)."""
    g = torch.Generator().manual_seed(0)
    n_train = min(subset or len(images.y_train), len(images.y_train))
    n_test = min(max(n_train // 6, 100), len(images.y_test))
    train = torch.randperm(len(images.y_train), generator=g)[:n_train].sort().values
    test = torch.randperm(len(images.y_test), generator=g)[:n_test].sort().values
    return train, test


def prepare(args: argparse.Namespace, device: torch.device, workdir: Path) -> dict[str, Any]:
    """Tensors for hpsearch and the floor, torchvision datasets for the DataLoader loop."""
    from torchvision import datasets, transforms

    images, raw = load_images(args)
    train_idx, test_idx = pick(images, args.subset)
    mnist_data.write_torchvision_folder(images, raw, workdir)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mnist_data.MEAN,), (mnist_data.STD,))])
    tv_train = datasets.MNIST(workdir, train=True, download=True, transform=transform)
    tv_test = datasets.MNIST(workdir, train=False, download=True, transform=transform)
    x, y = mnist_data.normalized(images.x_train[train_idx]), images.y_train[train_idx]
    x_test, y_test = mnist_data.normalized(images.x_test[test_idx]), images.y_test[test_idx]
    register_dataset(Dataset("mnist", x, y, x_test, y_test, num_classes=10))
    return {
        "source": images.source, "n_train": len(y), "n_test": len(y_test),
        "tv_train": torch.utils.data.Subset(tv_train, train_idx.tolist()),
        "tv_test": torch.utils.data.Subset(tv_test, test_idx.tolist()),
        "floor": (x.to(device), y.to(device), x_test.to(device), y_test.to(device)),
    }


def run_one(way: str, s: Setting, prepared: dict[str, Any], runs_root: Path) -> Timing:
    if way == "dataloader":
        return way_dataloader(s, prepared["tv_train"], prepared["tv_test"])
    if way == "hpsearch":
        return way_hpsearch(s, runs_root)
    return way_floor(s, *prepared["floor"])


def measure(args: argparse.Namespace, device: torch.device, prepared: dict[str, Any], runs_root: Path) -> dict:
    """{(batch_size, batchnorm): {way: [Timing per repeat]}}, the ways interleaved and rotated."""
    norms = {"both": [False, True], "on": [True], "off": [False]}[args.batchnorm]
    settings = [Setting(bs, bn, args.epochs, device) for bs in args.batch_sizes for bn in norms]
    results: dict[tuple[int, bool], dict[str, list[Timing]]] = {(s.batch_size, s.batchnorm): {} for s in settings}
    warmup = Setting(settings[0].batch_size, settings[0].batchnorm, 1, device)
    for way in WAY_NAMES:  # untimed: first calls pay for lazy initialization in torch and the data
        run_one(way, warmup, prepared, runs_root)
    for rep in range(args.repeats):
        order = WAY_NAMES[rep % 3 :] + WAY_NAMES[: rep % 3]
        for s in settings:
            for way in order:
                timing = run_one(way, s, prepared, runs_root)
                results[(s.batch_size, s.batchnorm)].setdefault(way, []).append(timing)
                print(f"  repeat {rep + 1}/{args.repeats}  batch {s.batch_size:<4} batchnorm {s.batchnorm!s:<5} "
                      f"{way:<10} {timing.wall / s.epochs:7.3f} s/epoch  acc {timing.accuracy:.4f}", file=sys.stderr)
    return results


def med(timings: list[Timing], attr: str, epochs: int) -> float:
    return statistics.median(getattr(t, attr) for t in timings) / epochs


def summarize(results: dict, epochs: int) -> list[dict[str, Any]]:
    rows = []
    for (bs, bn), by_way in results.items():
        row: dict[str, Any] = {"batch_size": bs, "batchnorm": bn}
        for way in WAY_NAMES:
            row[way] = med(by_way[way], "wall", epochs)
            row[f"{way}_cpu"] = med(by_way[way], "cpu", epochs)
            row[f"{way}_acc"] = statistics.median(t.accuracy for t in by_way[way])
        hp = by_way["hpsearch"]
        total = sum(t.wall for t in hp)
        row["eval_share"] = sum(t.extra["eval"] for t in hp) / total
        row["other_share"] = sum(t.extra["outside_epochs"] for t in hp) / total
        row["start"] = statistics.median(t.extra["start"] for t in hp)
        rows.append(row)
    return rows


def speed_table(rows: list[dict[str, Any]], clock: str = "") -> str:
    header = ["batch", "batchnorm", "dataloader s/ep", "hpsearch s/ep", "floor s/ep", "speed-up vs dataloader",
              "hpsearch/floor", "acc dataloader", "acc hpsearch", "acc floor", "eval share", "other overhead"]
    body = []
    for r in rows:
        d, h, f = (r[f"{w}{clock}"] for w in WAY_NAMES)
        body.append([str(r["batch_size"]), "on" if r["batchnorm"] else "off", f"{d:.3f}", f"{h:.3f}", f"{f:.3f}",
                     f"{d / h:.1f}x", f"{h / f:.2f}x", f"{r['dataloader_acc']:.4f}", f"{r['hpsearch_acc']:.4f}",
                     f"{r['floor_acc']:.4f}", f"{100 * r['eval_share']:.1f}%", f"{100 * r['other_share']:.1f}%"])
    return render_table(header, body)


def overhead_lines(rows: list[dict[str, Any]], runs_root: Path) -> list[str]:
    """Per-trial costs timed on their own: sampling a trial and writing metrics.jsonl (fsynced)."""
    from hpsearch.runs.store import RunStore
    from hpsearch.space.config import SearchConfig
    from hpsearch.space.distributions import LogUniform
    from hpsearch.space.sampler import sample_trial

    config = SearchConfig(name="bench", space={"lr": LogUniform(1e-4, 1e-1)})
    begin = time.perf_counter()
    for i in range(1000):
        sample_trial(config, i)
    sampling = (time.perf_counter() - begin) / 1000
    store = RunStore.create(runs_root / "writes", "writes")
    history = [{"epoch": e, "lr": 1e-3, "train_loss": 0.1, "train_acc": 0.9, "val_loss": 0.2, "val_acc": 0.9,
                "seconds": 1.0, "eval_seconds": 0.1} for e in range(20)]
    begin = time.perf_counter()
    for i in range(20):
        store.write_metrics(0, history[: i + 1])
    writing = (time.perf_counter() - begin) / 20
    start = statistics.median(r["start"] for r in rows)
    return [f"search start (once per search: data to the device, run folder created): {start:.3f} s",
            f"sampling one trial: {1000 * sampling:.3f} ms",
            f"writing metrics.jsonl once (each epoch; atomic, fsynced): {1000 * writing:.2f} ms"]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "hpsearch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hpsearch"]


def time_cli(args: list[str], repeats: int) -> tuple[float, int, bool]:
    """(median wall seconds, exit code, whether torch was imported) for ``hpsearch ARGS``."""
    times, code = [], 0
    for _ in range(repeats):
        begin = time.perf_counter()
        code = subprocess.run([*cli_command(), *args], env=cli_env(), capture_output=True).returncode
        times.append(time.perf_counter() - begin)
    probe = subprocess.run([sys.executable, "-X", "importtime", "-m", "hpsearch", *args], env=cli_env(),
                           capture_output=True, text=True)
    imports_torch = any(line.rstrip().endswith("| torch") for line in probe.stderr.splitlines())
    return statistics.median(times), code, imports_torch


def cli_rows(repeats: int, runs_root: Path) -> list[list[str]]:
    from hpsearch.cli import main as cli_main

    config = REPO / "configs" / "quickstart.yaml"
    commands: list[list[str]] = [["--help"], ["sample", str(config)], ["validate", str(config)]]
    if "compare" in cli_main.commands:
        commands.append(["compare", str(tiny_run(runs_root))])
    rows = []
    for args in commands:
        seconds, code, torch_imported = time_cli(args, repeats)
        shown = " ".join(a if a.startswith("-") or a in ("sample", "validate", "compare") else Path(a).name for a in args)
        rows.append([f"hpsearch {shown}", f"{seconds:.3f}", str(code), "yes" if torch_imported else "no"])
    if "compare" not in cli_main.commands:
        rows.append(["hpsearch compare", "-", "-", "(command not in this checkout yet)"])
    return rows


def tiny_run(runs_root: Path) -> Path:
    """A two-trial, one-epoch synthetic run folder for `hpsearch compare` to read."""
    from hpsearch.search.run import run_search
    from hpsearch.space.config import DataConfig, SearchConfig
    from hpsearch.space.distributions import LogUniform

    config = SearchConfig(name="tiny", trials=2, epochs=1, device="cpu", data=DataConfig(samples=300),
                          space={"lr": LogUniform(1e-3, 1e-1)})
    return run_search(config, runs_root / "tiny-run").run_dir


def verdicts(rows: list[dict[str, Any]], device: torch.device, cli: list[list[str]]) -> list[str]:
    need = TARGETS[device.type] if device.type in TARGETS else TARGETS["cpu"]
    out = []
    for r in rows:
        name = f"batch {r['batch_size']}, batchnorm {'on' if r['batchnorm'] else 'off'}"
        speedup, to_floor = r["dataloader"] / r["hpsearch"], r["hpsearch"] / r["floor"]
        out.append(f"{'PASS' if speedup >= need else 'MISS'} {name}: {speedup:.1f}x faster than the DataLoader loop (target {need:g}x)")
        out.append(f"{'PASS' if to_floor <= FLOOR_TARGET else 'MISS'} {name}: {to_floor:.2f}x the floor (target <= {FLOOR_TARGET}x)")
    for row in cli:
        if row[0] == "hpsearch --help":
            ok = float(row[1]) < HELP_TARGET
            out.append(f"{'PASS' if ok else 'MISS'} hpsearch --help: {row[1]} s (target < {HELP_TARGET} s)")
    return out


def header_lines(args: argparse.Namespace, device: torch.device, prepared: dict[str, Any]) -> list[str]:
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return [f"machine: {platform.machine()}, {os.cpu_count()} CPU cores{gpu}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads; device {device}",
            f"data: {prepared['source']}; {prepared['n_train']} training images, {prepared['n_test']} test images; "
            f"{args.epochs} epochs x {args.repeats} interleaved repeats, medians",
            "model: 784-256-256-10 MLP, Adam lr 1e-3; s/ep = wall seconds per epoch (each way's own evaluation included)"]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from hpsearch.training.trainer import resolve_device

    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory(prefix="trial-speed-") as tmp:
        workdir = Path(tmp)
        (workdir / "runs").mkdir()
        prepared = prepare(args, device, workdir / "torchvision")
        rows = summarize(measure(args, device, prepared, workdir / "runs"), args.epochs)
        overhead = overhead_lines(rows, workdir / "runs")
        cli = cli_rows(args.cli_repeats, workdir / "runs") if args.cli_repeats > 0 else []
    report = [*header_lines(args, device, prepared), "", speed_table(rows)]
    if device.type == "cpu":
        report += ["", "the same by CPU time (less sensitive to other load on the machine):", speed_table(rows, "_cpu")]
    report += ["", "hpsearch per trial:", *overhead,
               "eval share = train+validation accuracy each epoch; other overhead = sampling, model build, files written"]
    if cli:
        report += ["", render_table(["command", "seconds", "exit", "imports torch"], cli)]
    report += ["", *verdicts(rows, device, cli)]
    print("\n".join(report))
    return {"rows": rows, "cli": cli, "report": "\n".join(report)}


if __name__ == "__main__":
    main()
