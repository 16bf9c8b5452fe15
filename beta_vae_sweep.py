"""Train and evaluate one beta-VAE per beta and seed, and compare rate, distortion and active units with the
theory.

    python beta_vae_sweep.py --betas 0.25,0.5,1,2,4,8,16 --seeds 0,1,2 --epochs 200 [-- training flags]

Each run trains into <sweep-dir>/beta_<b>_seed_<s>/ and is evaluated there; <sweep-dir>/sweep.csv collects
the results (one row per run) next to the best linear-Gaussian model at each beta, and <sweep-dir>/plots/
shows them. Running the sweep again resumes unfinished runs and reuses every evaluation whose checkpoint has
not changed, so a finished sweep is only collected again.

The code is in the package (betavae/commands/sweep.py),
so that the Python API, the sweep and this script run one code path.
"""
import sys

from betavae.commands.sweep import main

if __name__ == "__main__":
    sys.exit(main())
