"""Training throughput against this machine's own FLOP-bound limit, measured in the same run.

    python benchmarks/bench_training.py            # throughput figures (about a minute)
    python benchmarks/bench_training.py --full     # also the 200-epoch CLI run and peak memory on 1M rows

Reference workload: 10-D data, 100,000 rows, batch 1000, hidden 128, latent 2, beta 4, Adam, CPU.
Each figure is one line `name key=value ...`.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from betavae.data import families, loading  # noqa: E402  (needs the path above)
from betavae.run.folder import RunFolder, import_tensorflow  # noqa: E402
from matmul_limits import HIDDEN, LATENT, fraction_figures, import_seconds, interleaved_fractions, training_limit  # noqa: E402

BATCH, BETA = 1000, 4.0


def trainer_throughput(train, compiled, epochs):
    """A function returning samples/s of the best of `epochs` whole epochs through Trainer.run_epoch; the
    model is built and compiled (one warm-up epoch) once, so repeated calls time training only."""
    import tensorflow as tf
    from betavae.model.objectives import BetaObjective
    from betavae.model.vae import BetaVAE, Trainer, make_optimizer
    model = BetaVAE(train.shape[1], LATENT, HIDDEN, train.mean(axis=0), train.std(axis=0))
    trainer = Trainer(model, make_optimizer("adam", 1e-3), BetaObjective(BETA), seed=0)
    steps = -(-len(train) // BATCH)
    rows = tf.constant(train)
    trainer.run_epoch(rows, *loading.epoch_order(len(train), BATCH, 0, 0), first_step=0, compiled=compiled)
    epoch_count = [0]

    def measure():
        best = np.inf
        for _ in range(epochs):
            epoch_count[0] += 1
            started = time.perf_counter()
            indices, weights = loading.epoch_order(len(train), BATCH, 0, epoch_count[0])
            trainer.run_epoch(rows, indices, weights, first_step=epoch_count[0] * steps, compiled=compiled)
            best = min(best, time.perf_counter() - started)
        return len(train) / best

    return measure


def timed_cli(*args):
    """Wall time and peak resident memory (MB) of one CLI run in a subprocess."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"benchmark run failed: {result.stderr.strip()}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - started, peak_kb / 1024


def cli_breakdown(seconds, run_dir, limit):
    """Where the CLI's wall time went, and its floor: the same run if every epoch after the first (which
    compiles) ran at the matmul limit. fraction = floor / seconds, 1 at the limit."""
    epoch_seconds = [row["seconds"] for row in RunFolder(run_dir).read_history()]
    train_rows = RunFolder(run_dir).load_config().train_rows
    floor = (seconds - sum(epoch_seconds)) + epoch_seconds[0] + (len(epoch_seconds) - 1) * train_rows / limit
    return (f"floor_seconds={floor:.1f} fraction={floor / seconds:.3f} tf_import_seconds={import_seconds():.1f} "
            f"first_epoch_seconds={epoch_seconds[0]:.1f} median_epoch_seconds={np.median(epoch_seconds):.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per path (best one counts)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the limit and the timed epochs")
    parser.add_argument("--full", action="store_true", help="also time the 200-epoch CLI and 1M-row memory")
    args = parser.parse_args()
    import_tensorflow()
    data = loading.load_data(os.path.join(REPO, "data", "gaussian_10d.npy")).astype(np.float32)

    def step_limit():
        return training_limit(data.shape[1], BATCH)

    figures = []
    for name, compiled, epochs in (("train", True, args.epochs), ("per_step", False, max(2, args.epochs // 2))):
        pairs = interleaved_fractions(step_limit, trainer_throughput(data, compiled, epochs), args.rounds)
        figures.append(fraction_figures(name, pairs))
    print(" ".join(figures), flush=True)
    if not args.full:
        return
    with tempfile.TemporaryDirectory() as folder:
        run_dir = os.path.join(folder, "run")
        seconds, _ = timed_cli("beta_vae_main.py", "--beta", "4", "--epochs", "200", "--checkpoint-dir", run_dir)
        print(f"cli_train_200_epochs seconds={seconds:.1f} target_seconds=60 "
              + cli_breakdown(seconds, run_dir, step_limit()), flush=True)
        big = os.path.join(folder, "million.npy")
        loading.save_array(big, families.generate(10, 2, 1_000_000, seed=1)[0])
        seconds, peak_mb = timed_cli("beta_vae_main.py", "--data", big, "--epochs", "2", "--checkpoint-dir",
                                     os.path.join(folder, "million"))
        print(f"train_1m_rows epochs=2 seconds={seconds:.1f} peak_rss_mb={peak_mb:.0f} target_mb=2048", flush=True)


if __name__ == "__main__":
    main()
