"""Train and evaluate one beta-VAE per beta and seed, and compare rate, distortion and active units with the
theory: `python beta_vae_sweep.py --betas 0.25,0.5,1,2,4,8,16 --seeds 0,1,2 [-- training flags]`.

The code is in the package (betavae/commands/sweep.py, whose docstring says what a sweep writes), so that
the Python API, the sweep and this script run one code path.
"""
import sys

from betavae.commands.sweep import main

if __name__ == "__main__":
    sys.exit(main())
