"""No config can make hpsearch use unbounded memory or time before it starts: hostile YAML and files
that are not files are refused at once, with exit 2 and one line naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
) + "name: *i\n"


def _validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", str(path)])
    return result.exit_code, result.output


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    assert len(BILLION_LAUGHS) < 600
    code, out = _validate(path)
    assert code == 2 and "expands to more than 100000 values" in out and str(path) in out


def test_deep_nesting_is_refused_with_a_line_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: x\nfixed: " + "[" * 500 + "]" * 500 + "\n")
    code, out = _validate(path)
    assert code == 2 and "nested more than 50 levels deep" in out and "Traceback" not in out


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "symlink_loop"])
def test_what_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "config.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # reading it would block forever
    elif kind == "dev_zero":
        path = Path("/dev/zero")  # reading it would never end
    else:
        path.symlink_to(tmp_path / "other.yaml")
        (tmp_path / "other.yaml").symlink_to(path)
    code, out = _validate(path)
    assert code == 2 and "cannot read config file" in out and out.count("\n") == 1


def test_a_huge_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("name: x\n" + "# padding\n" * 200_000)
    code, out = _validate(path)
    assert code == 2 and "is not a config" in out
