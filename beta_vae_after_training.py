"""Use a trained beta-VAE: sample from the prior or reconstruct data, rebuilt from --checkpoint-dir alone.

  python beta_vae_after_training.py --mode prior   # z ~ N(0, I) -> decoder -> x
  python beta_vae_after_training.py --mode recon   # x -> encoder -> z ~ q(z|x) -> decoder -> x
"""
import argparse
import os
import sys

import numpy as np

import data_processing
from beta_vae_run import OneLineParser, UsageError, load_config, load_run_data, restore_model, run_cli

MODES = ("prior", "recon")


def build_parser():
    """Flags of the after-training script; the architecture comes from the checkpoint, not from flags."""
    parser = OneLineParser(description=__doc__.splitlines()[0],
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mode", required=True, choices=MODES, help="what to do with the model")
    parser.add_argument("--checkpoint-dir", default="checkpoints", help="folder of a training run")
    parser.add_argument("--num-samples", type=int, default=10_000, help="prior samples to draw")
    parser.add_argument("--data", default=None,
                        help="rows to reconstruct (.npy, .csv, .txt/.dat); default: the run's held-out test rows")
    parser.add_argument("--mean-only", action="store_true",
                        help="output decoder means instead of draws from the decoder's Gaussian")
    parser.add_argument("--output", default=None,
                        help="output file, format by extension (.npy, .csv, .txt); default: "
                             "<checkpoint-dir>/prior_samples.npy or recon.npy")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent and decoder noise")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log messages")
    return parser


def output_path(args):
    """Where to write, checked before any work: an existing folder and a known format."""
    path = args.output or os.path.join(args.checkpoint_dir, "prior_samples.npy" if args.mode == "prior"
                                       else "recon.npy")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"{path}: cannot write there (folder {folder} does not exist or is not writable)")
    if os.path.splitext(path)[1].lower() not in data_processing.SUFFIXES:
        raise UsageError(f"{path}: unknown output format, expected one of {', '.join(data_processing.SUFFIXES)}")
    return path


def compare_line(output, reference, label):
    """One line comparing the output's mean and covariance with the reference data's."""
    out_mean, out_cov = data_processing.moments(output)
    ref_mean, ref_cov = data_processing.moments(reference)
    mean_error = np.linalg.norm(out_mean - ref_mean)
    cov_error = np.linalg.norm(out_cov - ref_cov) / np.linalg.norm(ref_cov)
    return (f"vs {label} ({len(reference)} rows): mean error {mean_error:.4g} (L2), "
            f"covariance error {100 * cov_error:.2f}% (Frobenius, relative)")


def main(argv=None):
    """Check flags and files, rebuild the model, then sample or reconstruct and write the result."""
    args = build_parser().parse_args(argv)

    def run():
        if args.num_samples < 1:
            raise UsageError(f"--num-samples must be at least 1, got {args.num_samples}")
        config = load_config(args.checkpoint_dir)
        path = output_path(args)
        _, test_rows = load_run_data(config)
        rows, label = test_rows, "held-out test rows"
        if args.data:
            rows, label = data_processing.load_data(args.data).astype(np.float32), args.data
            if rows.shape[1] != config["data_dim"]:
                raise UsageError(f"{args.data}: has {rows.shape[1]} columns, the model in "
                                 f"{args.checkpoint_dir} was trained on {config['data_dim']}")
        model, _ = restore_model(args.checkpoint_dir, args.verbose)
        from beta_vae_models import reconstruct, sample_prior
        if args.mode == "prior":
            output = sample_prior(model, args.num_samples, args.seed, args.mean_only)
            what = f"{len(output)} prior samples"
        else:
            output = reconstruct(model, rows, args.seed, args.mean_only)
            what = f"{len(output)} reconstructions of {label}"
        data_processing.save_array(path, output)
        print(f"wrote {what}{' (decoder means)' if args.mean_only else ''} to {path}")
        print(compare_line(output, rows, label))
        return 0

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
