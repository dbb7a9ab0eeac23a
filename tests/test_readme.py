"""The README's reference tables stay true to the code."""

from __future__ import annotations

from hpsearch.space.distributions import DISTRIBUTIONS
from hpsearch.space.hyperparams import HYPERPARAMETERS
from tests.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_hyperparameter_is_documented_with_its_default():
    for name, h in HYPERPARAMETERS.items():
        default = str(h.default).lower() if isinstance(h.default, bool) else str(h.default)
        assert f"| `{name}` | `{default}` |" in README, name


def test_every_distribution_is_documented():
    for name in DISTRIBUTIONS:
        assert f"| `{name}` |" in README, name


def test_readme_gives_the_install_and_test_commands_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -c constraints.txt -e \".[test]\" && hpsearch run configs/quickstart.yaml" in README
    assert "```bash\npython -m pytest\n```" in README
    assert "\npython -m pytest\n" in ci
