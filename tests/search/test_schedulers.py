"""ASHA's promotion rule on scripted results: no training needed."""

from __future__ import annotations

import pytest

from hpsearch.search.schedulers import ASHA, NoScheduler, make_scheduler
from hpsearch.space.config import SCHEDULERS, parse_config


def test_rungs_are_min_epochs_times_powers_of_eta_below_epochs():
    assert ASHA(epochs=27, min_epochs=1, eta=3).rungs(0) == [1, 3, 9]
    assert ASHA(epochs=10, min_epochs=2, eta=2).rungs(5) == [2, 4, 8]
    assert ASHA(epochs=1).rungs(0) == []
    assert NoScheduler().rungs(0) == [] and NoScheduler().report(0, 1, 0.5) is None


def test_top_third_continues_in_arrival_order():
    asha = ASHA(epochs=9, min_epochs=1, eta=3)
    # arrival order at rung 1: the first always continues; afterwards only the top floor(n/3) (at least 1)
    script = [(0, 0.50, True), (1, 0.40, False), (2, 0.60, True), (3, 0.55, False), (4, 0.30, False), (5, 0.58, True)]
    for trial, value, promoted in script:
        decision = asha.report(trial, 1, value)
        assert decision is not None and decision.promoted is promoted, (trial, decision)
    last = asha.report(6, 1, 0.1)
    assert (last.rank, last.competitors, last.cutoff) == (7, 7, 0.58)
    assert not last.promoted


def test_only_rung_epochs_are_judged_and_rungs_are_separate():
    asha = ASHA(epochs=9, min_epochs=1, eta=3)
    assert asha.report(0, 2, 0.9) is None  # epoch 2 is no rung
    assert asha.report(0, 3, 0.2).promoted  # first at rung 3, though worse than anything at rung 1
    asha.report(1, 1, 0.9)
    assert asha.recorded == {(0, 3): [0.2], (0, 1): [0.9]}


def test_hyperband_brackets_start_later_and_compete_only_within():
    hb = ASHA(epochs=9, min_epochs=1, eta=3, brackets=2)
    assert hb.name == "hyperband"
    assert hb.rungs(0) == [1, 3] and hb.rungs(1) == [3]
    assert hb.report(1, 3, 0.1).promoted  # alone in bracket 1's rung 3
    assert hb.report(0, 3, 0.05).promoted  # alone in bracket 0's rung 3


@pytest.mark.parametrize("kwargs", [{"min_epochs": 0}, {"eta": 1}, {"brackets": 0}])
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match="need min_epochs >= 1, eta >= 2, brackets >= 1"):
        ASHA(epochs=9, **kwargs)


@pytest.mark.parametrize("name", SCHEDULERS)
def test_every_scheduler_the_config_accepts_is_built_under_its_name(name):
    config = parse_config({"epochs": 9, "scheduler": {"name": name}})
    assert make_scheduler(config).name == name
