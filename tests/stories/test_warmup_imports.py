"""Trial 0 pays none of the process's one-time imports: after the executor's warm-up, the first
trial of a fresh process imports nothing. (The first optimizer used to import torch._dynamo, 1-2 s
in trial 0; it no longer does at all: tests/training/test_optimizers.py.)"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import ROOT

# In a fresh process: start an executor (which warms up), then list the modules the first trial imports.
FIRST_TRIAL = """
import json, sys, torch
torch.set_num_threads(1)
from hpsearch.data.synthetic import load_synthetic
from hpsearch.search.executors import Execution, InProcessExecutor
from hpsearch.space.config import DataConfig
from hpsearch.space.hyperparams import resolve
from hpsearch.space.sampler import Trial
from hpsearch.training.segments import Segment
dataset = load_synthetic(DataConfig(samples=200))
trial = Trial(0, 1, {}, resolve({"optimizer": "sgd", "hidden_units": 16}))
executor = InProcessExecutor(Execution(dataset, [torch.device("cpu")]))  # it warms up as it starts
before = set(sys.modules)
executor.submit(Segment(trial, 1))
list(executor.events())
print(json.dumps(sorted(set(sys.modules) - before)))
"""

def _imported_by_first_trial() -> list[str]:
    out = subprocess.run([sys.executable, "-c", FIRST_TRIAL], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    return json.loads(out.stdout)


def test_the_first_trial_imports_nothing_after_a_warm_up():
    assert _imported_by_first_trial() == []
