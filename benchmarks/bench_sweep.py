"""A sweep's overhead: its wall time against the sum of its models' epoch times, measured in the same run.

    python benchmarks/bench_sweep.py                              # the default sweep, --jobs 1 (many minutes)
    python benchmarks/bench_sweep.py --betas 1,4 --epochs 50      # a quicker look

ratio = wall seconds / sum of the `seconds` column of every run's history.csv; 1 would be a sweep that
costs nothing but its epochs (the first epoch of each run includes its compilation). Target: 1.2 or less.
The second line times collecting the finished sweep again, which must train and evaluate nothing.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from betavae.run.folder import RunFolder  # noqa: E402  (needs the path above)


def timed_sweep(flags):
    """Wall seconds of one sweep CLI run in a subprocess."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, os.path.join(REPO, "beta_vae_sweep.py"), *flags], cwd=REPO,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"benchmark sweep failed: {result.stderr.strip()}")
    return time.perf_counter() - started


def main():
    """Run a sweep into a temporary folder, then print its wall time, epoch seconds and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--betas", default="0.25,0.5,1,2,4,8,16", help="as beta_vae_sweep.py (its default)")
    parser.add_argument("--seeds", default="0", help="as beta_vae_sweep.py")
    parser.add_argument("--epochs", type=int, default=200, help="as beta_vae_sweep.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        flags = ["--betas", args.betas, "--seeds", args.seeds, "--epochs", str(args.epochs), "--jobs", "1",
                 "--sweep-dir", folder]
        seconds = timed_sweep(flags)
        runs = [os.path.join(folder, name) for name in os.listdir(folder) if name.startswith("beta_")]
        epoch_seconds = sum(row["seconds"] for run in runs for row in RunFolder(run).read_history())
        print(f"sweep runs={len(runs)} epochs={args.epochs} wall_seconds={seconds:.1f} "
              f"epoch_seconds={epoch_seconds:.1f} ratio={seconds / epoch_seconds:.3f} target_ratio=1.2", flush=True)
        print(f"sweep_collect_again wall_seconds={timed_sweep(flags):.1f}", flush=True)


if __name__ == "__main__":
    main()
