"""Hostile configs (issue 18, points 10, 11 and 18): every count has a ceiling checked in validation
with its key named, odd YAML keys and values are refused with their line, and the messages help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main

BASE = """\
name: t
trials: 2
epochs: 1
device: cpu
data: {dataset: synthetic, samples: 200}
space:
  lr: {distribution: log_uniform, low: 1.0e-3, high: 1.0e-1}
"""


def _validate(tmp_path: Path, text: str, command: str = "validate") -> tuple[int, str]:
    path = tmp_path / "c.yaml"
    path.write_bytes(text.encode("utf-8"))
    result = CliRunner().invoke(main, [command, str(path)])
    return result.exit_code, result.output


@pytest.mark.parametrize(("edit", "says"), [
    ("trials: 2", "c.yaml:2: trials: must be at most 1000000 (each trial writes a folder), got 1000000000000"),
    ("epochs: 1", "c.yaml:3: epochs: must be at most 1000000, got 1000000000000"),
    ("data: {dataset: synthetic, samples: 200}", "c.yaml:5: data.samples: must be at most 10000000"),
    ("workers: 1", "workers: must be at most 1024"),
    ("threads: 1", "threads: must be at most 1024"),
    ("seed: 0", "seed: must be at most 9223372036854775807"),
    ("scheduler: {name: asha, eta: 2}", "scheduler.eta: must be at most 1000"),
])
def test_counts_above_their_ceiling_are_refused_at_validate_naming_the_key(tmp_path: Path, edit: str, says: str) -> None:
    key = edit.split(":")[0]
    huge = {"data": "data: {dataset: synthetic, samples: 1000000000000}", "seed": "seed: 9223372036854775808",
            "scheduler": "scheduler: {name: asha, eta: 1000000000000}"}.get(key, f"{key}: 1000000000000")
    text = BASE.replace(edit, huge) if edit in BASE else BASE + huge + "\n"
    code, out = _validate(tmp_path, text)
    assert code == 2 and says in out and "Traceback" not in out


def test_values_below_the_minimum_keep_their_message(tmp_path: Path) -> None:
    code, out = _validate(tmp_path, BASE.replace("trials: 2", "trials: 0"))
    assert code == 2 and "trials: must be an integer >= 1, got 0" in out


@pytest.mark.parametrize("digits", [400, 5000])
@pytest.mark.parametrize("where", ["seed: {n}", "space:\n  hidden_units: {{distribution: int_uniform, low: 1, high: {n}}}",
                                   "fixed: {{hidden_units: {n}}}"])
def test_integers_of_hundreds_of_digits_anywhere_are_refused_with_key_and_line(tmp_path: Path, digits: int, where: str) -> None:
    text = "name: t\n" + where.format(n="9" * digits) + "\n"
    code, out = _validate(tmp_path, text)
    assert code == 2 and f"an integer of {digits} digits" in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1 and re.search(r"c\.yaml:\d+: ", out)


def test_a_cuda_index_no_device_can_have_is_refused_at_validate(tmp_path: Path) -> None:
    code, out = _validate(tmp_path, BASE.replace("device: cpu", "device: cuda:99999999999999999999"))
    assert code == 2 and "device: must be auto, cpu, cuda, cuda:N or mps" in out


def test_a_distribution_whose_width_overflows_is_refused(tmp_path: Path) -> None:
    code, out = _validate(tmp_path, BASE.replace("  lr: {", "  weight_decay: {distribution: uniform, low: -1.7e+308, high: 1.7e+308}\n  lr: {"))
    assert code == 2 and "high - low must be a finite number" in out


@pytest.mark.parametrize(("text", "says"), [
    ("name: t\n? [a, b]\n: 1\n", "c.yaml:2: malformed YAML: a key must be a name, got a list"),
    ("name: t\n? {a: 1}\n: 1\n", "c.yaml:2: malformed YAML: a key must be a name, got a mapping"),
    ("name: t\ntrials: 3\n~: 4\n", "c.yaml:3: malformed YAML: a key must be a name, got null"),
    ("name: t\nfixed: {~: 1}\n", "c.yaml:2: malformed YAML: a key must be a name, got null"),
    ("name: t\ntrials: 3\n\0\n", "c.yaml:3: malformed YAML: character 0 is not allowed"),
    ("name: t\nspace:\n  lr: {distribution: [log_uniform], low: 0.1, high: 1.0}\n",
     "c.yaml:3: space.lr.distribution: unknown distribution ['log_uniform']; did you mean 'log_uniform'?"),
])
def test_keys_that_are_not_names_and_stray_bytes_are_refused_with_their_line(tmp_path: Path, text: str, says: str) -> None:
    code, out = _validate(tmp_path, text)
    assert code == 2 and says in out and len(out.strip().splitlines()) == 1


def test_the_exponent_hint_gives_a_spelling_yaml_reads_as_a_number(tmp_path: Path) -> None:
    code, out = _validate(tmp_path, BASE.replace("high: 1.0e-1", "high: 1.0e1"))
    assert code == 2 and "e.g. 1.0e+1" in out
    fixed = BASE.replace("high: 1.0e-1", "high: 1.0e+1")
    assert _validate(tmp_path, fixed)[0] == 0  # the hint itself validates


def test_a_name_too_long_for_a_folder_is_refused_at_validate(tmp_path: Path) -> None:
    code, out = _validate(tmp_path, BASE.replace("name: t", "name: " + "a" * 300))
    assert code == 2 and "name: must be a name of letters" in out and "(300 characters)" in out
    assert len(out) < 300
