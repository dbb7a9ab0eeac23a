"""Asking for Ray, without a cluster: the address in the config and on the command line, Ray not
installed, an address where no cluster answers. Each is refused before anything is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.space.config import config_to_dict, parse_config, recorded_config
from tests.helpers import ROOT, TINY


@pytest.mark.parametrize("address", ["auto", "local", "10.0.0.1:6379", "ray://head.example:10001"])
def test_a_ray_address_is_read_and_kept_out_of_the_run_folder(address: str) -> None:
    config = parse_config({**TINY, "ray": address, "ray_gpus_per_trial": 0.25})
    assert (config.ray, config.ray_gpus_per_trial) == (address, 0.25)
    assert config_to_dict(config)["ray"] == address  # overrides keep it
    recorded = recorded_config(config)
    assert "ray" not in recorded and recorded["ray_gpus_per_trial"] == 0.25  # the fraction is part of the search


def test_workers_unset_is_not_written(tiny_config: Path) -> None:
    assert "workers" not in config_to_dict(parse_config(TINY))
    assert config_to_dict(parse_config({**TINY, "workers": 1}))["workers"] == 1


@pytest.mark.parametrize(("key", "value", "message"), [
    ("ray", "somewhere", "ray: must be auto, local, HOST:PORT or ray://HOST:PORT, got 'somewhere'"),
    ("ray", "http://head:8265", "ray: must be auto, local, HOST:PORT or ray://HOST:PORT"),
    ("ray_gpus_per_trial", 0, "ray_gpus_per_trial: must be a number in (0, 1] or a whole number of GPUs, got 0"),
    ("ray_gpus_per_trial", 1.5, "ray_gpus_per_trial: must be a number in (0, 1] or a whole number of GPUs, got 1.5"),
])
def test_bad_ray_keys_are_named(write_config, key: str, value: object, message: str) -> None:
    result = CliRunner().invoke(main, ["validate", str(write_config({**TINY, key: value}))])
    assert result.exit_code == 2 and message in result.output


def test_a_bad_ray_flag_is_a_usage_error(tiny_config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(tiny_config), "--ray", "nowhere", "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "Invalid value for '--ray': 'nowhere': expected auto, local, HOST:PORT or ray://HOST:PORT" in result.output
    assert not (tmp_path / "run").exists()


def test_without_ray_installed_the_message_says_how_to_install(tiny_config: Path, tmp_path: Path) -> None:
    """A ``ray`` package that fails to import, first on the path, stands for Ray not being installed."""
    fake = tmp_path / "site" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = {**os.environ, "PYTHONPATH": f"{fake.parent}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, "-m", "hpsearch", "run", str(tiny_config), "--ray", "local", "--run-dir",
                           str(tmp_path / "run")], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == 'error: Ray is not installed: pip install "hpsearch[ray]"'
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("address", ["127.0.0.1:9", "ray://127.0.0.1:9"])
def test_an_address_where_no_cluster_answers_names_it(tiny_config: Path, tmp_path: Path, address: str) -> None:
    pytest.importorskip("ray")
    result = CliRunner().invoke(main, ["run", str(tiny_config), "--ray", address, "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert f"error: no Ray cluster answers at {address} (" in result.output
    assert "start one with `ray start --head` there, or use --ray local" in result.output
    assert not (tmp_path / "run").exists()
