"""Use a trained beta-VAE: sample, reconstruct or evaluate it, rebuilt from --checkpoint-dir alone.

  python beta_vae_after_training.py --mode prior      # z ~ N(0, I) -> decoder -> x
  python beta_vae_after_training.py --mode recon      # x -> encoder -> z ~ q(z|x) -> decoder -> x
  python beta_vae_after_training.py --mode evaluate   # scores against the exact references
  python beta_vae_after_training.py --mode plot       # the plots alone
"""
import argparse
import gc
import os
import sys

import numpy as np

import beta_vae_scoring as scoring
import data_processing
from beta_vae_run import (OneLineParser, UsageError, check_minimum, import_tensorflow, load_config, load_run_data,
                          restore_model, run_cli)

MODES = ("prior", "recon", "evaluate", "plot")


def build_parser():
    """Flags of the after-training script; the architecture comes from the checkpoint, not from flags."""
    parser = OneLineParser(description=__doc__.splitlines()[0],
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mode", required=True, choices=MODES, help="what to do with the model")
    parser.add_argument("--checkpoint-dir", default="checkpoints", help="folder of a training run")
    parser.add_argument("--num-samples", type=int, default=10_000, help="prior samples to draw")
    parser.add_argument("--data", default=None,
                        help="rows to reconstruct or evaluate on (.npy, .csv, .txt/.dat); default: the run's "
                             "held-out test rows")
    parser.add_argument("--iwae-samples", type=int, default=scoring.IWAE_SAMPLES,
                        help="importance samples per row for the IWAE estimate of -log p(x) (evaluate)")
    parser.add_argument("--plots", action="store_true",
                        help="evaluate: also draw the plots (as --mode plot does), after the report")
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
    from beta_vae_evaluation import moment_errors
    errors = moment_errors(output, *data_processing.moments(reference))
    return (f"vs {label} ({len(reference)} rows): mean error {errors['mean_error']:.4g} (L2), covariance error "
            f"{100 * errors['cov_error']:.2f}% (Frobenius, relative), Frechet distance {errors['frechet']:.4g}")


def main(argv=None):
    """Check flags and files, rebuild the model, then sample, reconstruct, evaluate or plot."""
    args = build_parser().parse_args(argv)

    def run():
        check_minimum(args, ("num_samples", "iwae_samples"), 1)
        config = load_config(args.checkpoint_dir)
        path = output_path(args) if args.mode in ("prior", "recon") else None
        rows, label = None, "held-out test rows"
        if args.data:
            rows, label = data_processing.load_data(args.data).astype(np.float32), args.data
            if rows.shape[1] != config["data_dim"]:
                raise UsageError(f"{args.data}: has {rows.shape[1]} columns, the model in "
                                 f"{args.checkpoint_dir} was trained on {config['data_dim']}")
        if not path:
            return score_and_plot(args, rows)
        rows = load_run_data(config)[1] if rows is None else rows
        model, _ = restore_model(args.checkpoint_dir, args.verbose)
        from beta_vae_inference import reconstruct, sample_prior
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


def score_and_plot(args, rows):
    """--mode evaluate (the report, evaluation.json, and the plots with --plots) and --mode plot, with a
    line per stage as it starts and ends; evaluation.json is written only once every number is computed."""
    def progress(line):
        print(line, flush=True)

    if args.verbose:
        import_tensorflow(verbose=True)  # before the scoring functions import it quietly

    if args.mode == "evaluate":
        report = scoring.evaluate_run(args.checkpoint_dir, iwae_samples=args.iwae_samples,
                                      num_samples=args.num_samples, seed=args.seed, rows=rows,
                                      rows_label=f"rows of {args.data}", progress=progress)
        print(scoring.format_report(report, args.checkpoint_dir))
        print(f"wrote {scoring.save_report(args.checkpoint_dir, report)}")
    if args.mode == "plot" or args.plots:
        paths = scoring.plot_run(args.checkpoint_dir, num_samples=args.num_samples, seed=args.seed, rows=rows,
                                 progress=progress)
        print(f"wrote {len(paths)} plots to {os.path.dirname(paths[0])}: "
              + ", ".join(os.path.basename(p) for p in paths))
    return 0


if __name__ == "__main__":
    status = main()
    # The interpreter's last garbage collections walk every object TensorFlow made, for seconds; the work is
    # done and written, so leave those objects out of them.
    gc.freeze()
    sys.exit(status)
