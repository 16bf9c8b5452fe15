"""Regenerate the sweep figures of docs/sweeps.md: `python docs/make_sweep_gallery.py [--workdir DIR]`.

Generates 2-factor linear data (10-D, 50,000 rows, seed 7), runs a beta sweep (beta 0.5 to 8, seeds 0, 1, 2)
and a beta-TCVAE sweep (beta 1 to 8, seed 0) on it, 40 epochs per run, and keeps their disentanglement and
KL figures in docs/ as small PNGs. About 25 minutes on 2 cores (a tc run costs ~5x a beta run: its
its estimate of q(z) compares every pair of rows in a batch). The sweeps resume and reuse their
evaluations, so a second call with the same --workdir only collects.
"""
import argparse
import os
import tempfile

from make_gallery import DOCS, run, shrink

BETAS = {"beta": ("0.5,1,2,4,8", "0,1,2", []), "tc": ("1,2,4,8", "0", ["--objective", "tc"])}
FIGURES = {"disentanglement.png": "disentanglement", "kl_per_dim.png": "kl"}


def main():
    """Generate the data if absent, run (or collect) both sweeps, copy their figures into docs/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=None, help="where the data and the sweeps go (default: a new "
                                                        "temporary folder, removed afterwards)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        workdir = os.path.abspath(args.workdir or temporary)
        data = os.path.join(workdir, "sweepdata", "gen2.npy")
        if not os.path.exists(data):
            os.makedirs(os.path.dirname(data), exist_ok=True)
            run("data_processing.py", "generate", "--rows", "50000", "--seed", "7", "--output", data)
        for name, (betas, seeds, flags) in BETAS.items():
            sweep = os.path.join(workdir, "sweeps", name)
            run("beta_vae_sweep.py", "--betas", betas, "--seeds", seeds, "--epochs", "40", "--jobs", "2",
                "--sweep-dir", sweep, "--", "--data", data, *flags)
            for figure, label in FIGURES.items():
                shrink(os.path.join(sweep, "plots", figure), os.path.join(DOCS, f"sweep_{name}_{label}.png"))


if __name__ == "__main__":
    main()
