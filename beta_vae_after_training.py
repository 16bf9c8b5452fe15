"""Use a trained beta-VAE: sample, reconstruct or evaluate it, rebuilt from --checkpoint-dir alone.

  python beta_vae_after_training.py --mode prior      # z ~ N(0, I) -> decoder -> x
  python beta_vae_after_training.py --mode recon      # x -> encoder -> z ~ q(z|x) -> decoder -> x
  python beta_vae_after_training.py --mode evaluate   # scores against the exact references
  python beta_vae_after_training.py --mode plot       # the plots alone

The code is in the package (betavae/commands/after_training.py), so that the Python API, the sweep and this
script run one code path.
"""
import gc
import sys

from betavae.commands.after_training import main

if __name__ == "__main__":
    status = main()
    # The interpreter's last garbage collections walk every object TensorFlow made, for seconds; the work is
    # done and written, so leave those objects out of them.
    gc.freeze()
    sys.exit(status)
