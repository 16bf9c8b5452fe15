"""Regenerate the docs' gallery (docs/after-training.md, and the README's figure): `python docs/make_gallery.py`.

Trains a short run on the shipped data into a temporary folder, evaluates it with --plots,
and keeps each plot in docs/ as a small PNG, so the pictures in the docs always come from the code.
"""
import os
import subprocess
import sys
import tempfile

from PIL import Image

DOCS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(DOCS)
PLOTS = ("history", "pairs", "latent", "covariances")
WIDTH = 1000  # pixels: legible in a page's column, well under 100 kB once reduced to a palette


def run(script, *args):
    """Run one of the suite's scripts from the repository root; stop with its stderr if it fails."""
    result = subprocess.run([sys.executable, os.path.join(REPO, script), *args], cwd=REPO, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if result.returncode:
        sys.exit(f"error: {script} failed: {result.stderr.strip()}")


def shrink(source, target):
    """Copy a PNG at most WIDTH pixels wide with a 256-colour palette: plots have few colours. Box
    averaging, since sharper filters ring around the covariance cells; octree palettes keep the rare dark
    colours (the default merged a dark purple into a dark red)."""
    image = Image.open(source).convert("RGB")
    if image.width > WIDTH:
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.Resampling.BOX)
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(target,
                                                                                                  optimize=True)


def main():
    """Train, evaluate, and copy the four run plots into docs/."""
    with tempfile.TemporaryDirectory() as folder:
        checkpoint_dir = os.path.join(folder, "run")
        run("beta_vae_main.py", "--epochs", "40", "--checkpoint-dir", checkpoint_dir)
        run("beta_vae_after_training.py", "--mode", "evaluate", "--checkpoint-dir", checkpoint_dir,
            "--iwae-samples", "100", "--plots")
        for name in PLOTS:
            target = os.path.join(DOCS, f"{name}.png")
            shrink(os.path.join(checkpoint_dir, "plots", f"{name}.png"), target)
            print(f"wrote {os.path.relpath(target, REPO)} ({os.path.getsize(target) // 1024} kB)")


if __name__ == "__main__":
    main()
