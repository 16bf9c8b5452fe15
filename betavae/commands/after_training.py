"""Use a trained beta-VAE: sample, reconstruct or evaluate it, rebuilt from --checkpoint-dir alone.

  python beta_vae_after_training.py --mode prior      # z ~ N(0, I) -> decoder -> x
  python beta_vae_after_training.py --mode recon      # x -> encoder -> z ~ q(z|x) -> decoder -> x
  python beta_vae_after_training.py --mode evaluate   # scores against the exact references
  python beta_vae_after_training.py --mode plot       # the plots alone
"""
import contextlib
import os

import numpy as np

from betavae.scoring import evaluate as scoring
from betavae.data import loading
from betavae.files import ArrayWriter, StreamMoments, check_output_path
from betavae.run.folder import (OneLineParser, RunFolder, UsageError, check_minimum, check_seed, import_tensorflow,
                                is_moved_copy, load_run_data, run_cli)

MODES = ("prior", "recon", "evaluate", "plot")


def build_parser():
    """Flags of the after-training script; the architecture comes from the checkpoint, not from flags."""
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", required=True, choices=MODES, help="what to do with the model")
    parser.add_argument("--checkpoint-dir", default="checkpoints", help="folder of a training run")
    parser.add_argument("--num-samples", type=int, default=10_000, help="prior samples to draw")
    parser.add_argument("--data", default=None,
                        help="rows to reconstruct or evaluate on (.npy, .csv, .txt/.dat); default: the run's "
                             "held-out test rows. If the run's training data is no longer where it was "
                             "trained, a file with its SHA-256 is taken as that data, moved")
    parser.add_argument("--iwae-samples", type=int, default=scoring.IWAE_SAMPLES,
                        help="importance samples per row for the IWAE estimate of -log p(x) (evaluate)")
    parser.add_argument("--plots", action="store_true",
                        help="evaluate: also draw the plots (as --mode plot does), after the report")
    parser.add_argument("--mean-only", action="store_true",
                        help="output decoder means instead of draws from the decoder's Gaussian")
    parser.add_argument("--output", default=None,
                        help="output file, format by extension (.npy, .csv, .txt); default: "
                             "<checkpoint-dir>/prior_samples.npy or recon.npy")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output file (the run's own prior_samples.npy or recon.npy "
                             "is always replaced)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent and decoder noise")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log messages")
    return parser


def output_path(args, folder, config, rows):
    """Where to write, checked before any work: not a file of the run or one it reads, a known format, an
    existing writable folder, room on the disk."""
    path = args.output or folder.file("prior_samples.npy" if args.mode == "prior" else "recon.npy")
    folder.check_output(path, inputs=(config.data, config.test_data, args.data), replace=args.overwrite)
    check_output_path(path, rows, config.data_dim)
    return path


def compare_line(moments, reference, label):
    """One line comparing the output's mean and covariance (moments) with the reference data's."""
    from betavae.scoring.references import moment_errors_of
    errors = moment_errors_of(*moments, *loading.moments(reference))
    return (f"vs {label} ({len(reference)}): mean error {errors['mean_error']:.4g} (L2, data units), covariance "
            f"error {100 * errors['cov_error']:.2f}%, Frechet {errors['frechet']:.4g} (squared data units)")


def write_output(path, chunks, rows, columns):
    """Stream chunks of output rows into path (atomically); returns their (mean, covariance)."""
    moments = StreamMoments()
    with ArrayWriter(path, rows, columns) as writer:
        for chunk in chunks:
            writer.write(chunk)
            moments.add(chunk)
    return moments.mean_cov()


def output_chunks(model, seed, mean_only=False, num_samples=None, rows=None):
    """What --mode prior (num_samples prior samples) or --mode recon (reconstructions of rows) outputs, as
    float32 chunks of rows: the one source of these outputs for the CLI and the Python API."""
    from betavae.model.inference import prior_chunks, reconstruct
    if rows is None:
        return prior_chunks(model, num_samples, seed, mean_only)
    return iter([reconstruct(model, rows, seed, mean_only)])


def sample_or_reconstruct(args, folder, config, rows, label, path):
    """Rebuild the model, then stream the prior samples or the reconstructions of rows to path. rows: the
    rows reconstructed, or compared with the prior samples (None: no comparison, label says why)."""
    model, _ = folder.restore_model(args.verbose)
    if args.mode == "prior":
        chunks = output_chunks(model, args.seed, args.mean_only, num_samples=args.num_samples)
        count, what = args.num_samples, f"{args.num_samples} prior samples"
    else:
        chunks = output_chunks(model, args.seed, args.mean_only, rows=rows)
        count, what = len(rows), f"{len(rows)} reconstructions of {label}"
    moments = write_output(path, chunks, count, config.data_dim)
    print(f"wrote {what}{' (decoder means)' if args.mean_only else ''} to {path}")
    print(compare_line(moments, rows, label) if rows is not None else f"note: not compared with data: {label}")
    return 0


def score_and_plot(args, folder, rows, copy):
    """--mode evaluate (the report, evaluation.json, and the plots with --plots) and --mode plot, with a
    line per stage as it starts and ends; evaluation.json is written only once every number is computed."""
    def progress(line):
        print(line, flush=True)

    if args.verbose:
        import_tensorflow(verbose=True)  # before the scoring functions import it quietly

    if args.mode == "evaluate":
        report = scoring.evaluate_run(folder, iwae_samples=args.iwae_samples, num_samples=args.num_samples,
                                      seed=args.seed, rows=rows, rows_label=f"rows of {args.data}",
                                      data=copy, progress=progress)
        path = scoring.save_report(folder, report)  # first: the numbers are kept even if printing fails
        print(scoring.format_report(report, args.checkpoint_dir))
        print(f"wrote {path}")
    if args.mode == "plot" or args.plots:
        best = scoring.best_objective(report) if args.mode == "evaluate" else None
        paths = scoring.plot_run(folder, num_samples=args.num_samples, seed=args.seed, rows=rows, best=best,
                                 data=copy, progress=progress)
        print(f"wrote {len(paths)} plots to {os.path.dirname(paths[0])}: "
              + ", ".join(os.path.basename(p) for p in paths))
    return 0


def main(argv=None):
    """Check flags and files, rebuild the model, then sample, reconstruct, evaluate or plot."""
    args = build_parser().parse_args(argv)

    def run():
        check_minimum(args, ("num_samples", "iwae_samples"), 1)
        check_seed(args.seed)
        folder = RunFolder(args.checkpoint_dir)
        config = folder.load_config()
        rows, label = None, "held-out test rows"
        copy = args.data if args.data and is_moved_copy(args.data, config) else None
        if args.data and not copy:
            rows, label = loading.load_data(args.data).astype(np.float32), args.data
            if rows.shape[1] != config.data_dim:
                raise UsageError(f"{args.data}: has {rows.shape[1]} columns, the model in "
                                 f"{args.checkpoint_dir} was trained on {config.data_dim}")
        if args.mode in ("evaluate", "plot"):
            with folder.writing():  # evaluation.json and plots/ are the run's: never beside a training
                return score_and_plot(args, folder, rows, copy)
        if rows is None:
            try:
                rows = load_run_data(folder.locate_data(config, [copy]))[1]
            except UsageError as missing:
                if args.mode == "recon":
                    raise
                label = str(missing)  # prior samples need no data: they are written, only not compared
        path = output_path(args, folder, config, args.num_samples if args.mode == "prior" else len(rows))
        # Writing inside the run needs its lock: never into a run that a training is still writing.
        with folder.writing() if folder.holds(path) else contextlib.nullcontext():
            return sample_or_reconstruct(args, folder, config, rows, label, path)

    return run_cli(run)
