"""Prior sampling and reconstruction throughput against this machine's own limit, measured in the same run,
and the wall time of 1M prior samples from the CLI.

    python benchmarks/bench_sampling.py

Trains a one-epoch model on the shipped data in a temporary folder first (the speed of sampling does not
depend on how well the model is trained). Each figure is one line `name key=value ...`.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from betavae.run.folder import RunFolder, import_tensorflow  # noqa: E402  (needs the path above)
from matmul_limits import (best_seconds, decoder_shapes, encoder_shapes, forward_limit, fraction_figures,  # noqa: E402
                           import_seconds, interleaved_fractions)

SAMPLES = 1_000_000
ROUNDS = 3  # alternating rounds of the limit and the timed sampling


def run(*args):
    """Run a CLI in a subprocess; returns its wall time in seconds."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"benchmark run failed: {result.stderr.strip()}")
    return time.perf_counter() - started


def main():
    with tempfile.TemporaryDirectory() as folder:
        checkpoint_dir = os.path.join(folder, "run")
        run("beta_vae_main.py", "--epochs", "1", "--checkpoint-dir", checkpoint_dir)
        import_tensorflow()
        from betavae.model.inference import SAMPLING_CHUNK, reconstruct, sample_prior
        model, _ = RunFolder(checkpoint_dir).restore_model()
        rows = np.load(os.path.join(REPO, "data", "gaussian_10d.npy"))
        rows = np.tile(rows, (SAMPLES // len(rows), 1))
        data_dim = rows.shape[1]
        figures = (("prior", lambda: sample_prior(model, SAMPLES, seed=0), decoder_shapes(data_dim)),
                   ("recon", lambda: reconstruct(model, rows, seed=0),
                    encoder_shapes(data_dim) + decoder_shapes(data_dim)))
        for name, function, shapes in figures:
            pairs = interleaved_fractions(lambda: forward_limit(shapes, SAMPLING_CHUNK),
                                          lambda: SAMPLES / best_seconds(function, rounds=1, calls=1), ROUNDS)
            print(fraction_figures(name, pairs) + " target_samples_per_s=1000000", flush=True)
        seconds = run("beta_vae_after_training.py", "--mode", "prior", "--num-samples", str(SAMPLES),
                      "--checkpoint-dir", checkpoint_dir, "--output", os.path.join(folder, "prior.npy"))
        print(f"cli_prior_1m_to_npy seconds={seconds:.1f} tf_import_seconds={import_seconds():.1f}", flush=True)


if __name__ == "__main__":
    main()
