"""Wall time of `beta_vae_after_training.py --mode evaluate` (the whole process) against a bare
`python -c "import tensorflow"` measured in the same run, and their ratio (the goal: at most 1.5).

    python benchmarks/bench_evaluate.py [--checkpoint-dir RUN] [--rounds 3]

Without --checkpoint-dir it first trains a default run of the shipped data for 20 epochs in a temporary
folder (how long evaluation takes does not depend on how long the model trained). The two commands
alternate, round after round, and each keeps its fastest round: the machine may be shared, and alternating
exposes both to the same load.
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_sampling import run as run_seconds  # noqa: E402  (needs the path above)
from matmul_limits import import_seconds  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint-dir", help="a trained run to evaluate (default: train one for 20 epochs)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the two commands")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run = args.checkpoint_dir and os.path.abspath(args.checkpoint_dir)
        if run is None:
            run = os.path.join(folder, "run")
            run_seconds("beta_vae_main.py", "--epochs", "20", "--checkpoint-dir", run)
        evaluate, bare_import = [], []
        for _ in range(args.rounds):
            bare_import.append(import_seconds())
            evaluate.append(run_seconds("beta_vae_after_training.py", "--mode", "evaluate", "--checkpoint-dir", run))
        print(f"evaluate seconds={min(evaluate):.2f} tf_import_seconds={min(bare_import):.2f} "
              f"ratio={min(evaluate) / min(bare_import):.2f} target_ratio=1.5 rounds={args.rounds}", flush=True)


if __name__ == "__main__":
    main()
