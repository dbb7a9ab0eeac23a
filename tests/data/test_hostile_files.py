"""Hostile data files (issue 18, points 6b, 11b and 18): each exits 2 with one line naming the file,
before anything is written, and no size read from a header is allocated before it is checked."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.data import files
from hpsearch.space.config import DataConfig


def _run(tmp_path: Path, data_file: Path) -> tuple[int, str, Path]:
    config = {"name": "t", "trials": 1, "epochs": 1, "device": "cpu", "fixed": {"batch_size": 4},
              "data": {"dataset": "file", "path": str(data_file)}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(path), "--run-dir", str(run_dir), "-q"])
    return result.exit_code, result.output, run_dir


def _npy_header(shape: tuple[int, ...]) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return header.getvalue()


def _write(tmp_path: Path, case: str) -> Path:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)), np.arange(60) % 2
    path = tmp_path / ({"csv": "d.csv", "pt": "d.pt"}.get(case.split("_")[0], "d.npz"))
    if case == "csv_empty_label":
        path.write_text("a,b,label\n" + "".join(f"{i},{i},{'xy'[i % 2]}\n" for i in range(60)) + "1,2,\n")
    elif case == "csv_duplicate_column":
        path.write_text("label,b,label\n" + "".join(f"{i % 2},{i},{3 * i}\n" for i in range(60)))
    elif case == "csv_huge_label":
        path.write_text("a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(60)) + "1,3000000000\n")
    elif case == "npz_huge_label":
        np.savez(path, x=x, y=np.append(y[:-1], 2**40))
    elif case == "npz_0d_x":
        np.savez(path, x=np.array(3.0), y=y)
    elif case == "npz_no_features":
        np.savez(path, x=np.zeros((60, 0)), y=y)
    elif case == "npz_truncated":
        np.savez(path, x=x, y=y)
        path.write_bytes(path.read_bytes()[:300])
    elif case == "npz_renamed_npy":
        np.save(tmp_path / "a.npy", x)
        path.write_bytes((tmp_path / "a.npy").read_bytes())
    elif case == "npz_random_bytes":
        path.write_bytes(rng.bytes(300))
    elif case == "npz_header_claims_7tib":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("x.npy", _npy_header((2**40 - 2**37, 1)) + bytes(64))
            archive.writestr("y.npy", _npy_header((60,)) + bytes(480))
    elif case.startswith("pt_"):
        content = {"pt_sparse": {"x": torch.rand(60, 3).to_sparse(), "y": torch.arange(60) % 2},
                   "pt_meta": {"x": torch.empty(60, 3, device="meta"), "y": torch.arange(60) % 2},
                   "pt_y_none": {"x": torch.rand(60, 3), "y": None},
                   "pt_int_keys": {0: torch.rand(60, 3), 1: torch.arange(60) % 2},
                   "pt_string_x": {"x": "hello", "y": torch.arange(60) % 2}}[case]
        torch.save(content, path)
    return path


CASES = {
    "csv_empty_label": "line 62: the label (column 'label') is empty",
    "csv_duplicate_column": "column 'label' appears more than once in the header",
    "npz_0d_x": "(x): is a single value (0-d)",
    "npz_no_features": "the examples have no features (shape (60, 0))",
    "npz_truncated": "cannot be read as .npz, damaged or cut short",
    "npz_renamed_npy": "is one .npy array named .npz",
    "npz_random_bytes": "is not a .npz file (no zip archive",
    "npz_header_claims_7tib": "array 'x' claims shape (962072674304, 1) (7.0 TiB) but holds",
    "pt_sparse": "(x): is a sparse (torch.sparse_coo) tensor",
    "pt_meta": "(x): is a meta (no data) tensor",
    "pt_y_none": "(y): is a NoneType, not an array or tensor of labels",
    "pt_int_keys": "needs x or X (or data.x_key); the arrays are 0, 1",
    "pt_string_x": "(x): is a str, not an array or tensor of examples",
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_data_file_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, case: str) -> None:
    data_file = _write(tmp_path, case)
    code, out, run_dir = _run(tmp_path, data_file)
    assert code == 2, out
    assert CASES[case] in out and str(data_file) in out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
    assert not run_dir.exists()


@pytest.mark.parametrize(("case", "label"), [("csv_huge_label", "3000000000"), ("npz_huge_label", str(2**40))])
def test_one_huge_label_is_a_class_name_not_a_range_of_classes(tmp_path: Path, case: str, label: str) -> None:
    """3000000000 among 0s and 1s: mapped as a name (classes "0", "1", "3000000000"), no range(C) built."""
    dataset = files.load_file(DataConfig(dataset="file", path=str(_write(tmp_path, case))))
    assert dataset.num_classes == 3 and dataset.info["classes"] == ["0", "1", label]


def test_arrays_larger_than_the_memory_available_are_refused_before_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip bomb (gigabytes of zeros in megabytes) is caught by its headers: here the machine is made
    to have 10 kB free, and a 60x3 float array (1.4 kB) plus labels must be loaded twice over."""
    data_file = tmp_path / "d.npz"
    np.savez_compressed(data_file, x=np.zeros((600, 3)), y=np.arange(600) % 2)
    monkeypatch.setattr(files, "available_memory", lambda: 10_000)
    code, out, _ = _run(tmp_path, data_file)
    assert code == 2 and "unpacked, and loading needs about twice that; only 0.0 GB of memory is available" in out


def test_a_data_path_that_is_a_folder_is_called_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data.npz"
    folder.mkdir()
    code, out, _ = _run(tmp_path, folder)
    assert code == 2 and "is a folder" in out and "does not exist" not in out


def test_a_pt_file_refused_by_torch_is_one_line_without_torchs_advice(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple:
            return (print, ("this would run",))

    data_file = tmp_path / "d.pt"
    torch.save({"x": torch.rand(60, 3), "y": Payload()}, data_file)
    code, out, _ = _run(tmp_path, data_file)
    assert code == 2 and "Unsupported global: GLOBAL print" in out and "this would run" not in out
    assert len(out.strip().splitlines()) == 1 and "Please file an issue" not in out and "weights_only` set to `False" not in out
