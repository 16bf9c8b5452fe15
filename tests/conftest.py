"""Shared fixtures: the repository on sys.path, a quiet TensorFlow, small datasets and a CLI runner."""
import os
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from beta_vae_run import import_tensorflow  # noqa: E402  (needs the path above)

import_tensorflow()


def run_script(script, *args, timeout=300):
    """Run one of the suite's scripts in a subprocess; returns the CompletedProcess (text output)."""
    return subprocess.run([sys.executable, os.path.join(REPO, script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def factor_data_array(rows=600, seed=5):
    """Small 4-D, 1-factor data with an offset and scale far from standard (mean 50, scale 10)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, 1))
    return (50 + 10 * (z @ np.array([[1.0, 0.8, -0.6, 0.3]]) + 0.3 * rng.standard_normal((rows, 4)))) \
        .astype(np.float32)
