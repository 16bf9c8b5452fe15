"""Use a trained beta-VAE: sample, reconstruct, encode, evaluate or export it, rebuilt from --checkpoint-dir alone.

  python beta_vae_after_training.py --mode prior      # z ~ N(0, I) -> decoder -> x
  python beta_vae_after_training.py --mode recon      # x -> encoder -> z ~ q(z|x) -> decoder -> x
  python beta_vae_after_training.py --mode encode     # x -> E_q[z] (and log-scales), the codes of rows
  python beta_vae_after_training.py --mode evaluate   # scores against the exact references
  python beta_vae_after_training.py --mode plot       # the plots alone
  python beta_vae_after_training.py --mode export --output DIR  # a SavedModel plain TensorFlow serves
"""
import argparse
import contextlib
import os

import numpy as np

from betavae.scoring import evaluate as scoring
from betavae.scoring.sections.base import HELD_OUT_ROWS
from betavae.cli import OneLineParser, UsageError, check_minimum, check_seed, flag_name, run_cli, warn
from betavae.data import loading
from betavae.files import ArrayWriter, StreamMoments, check_output_path
from betavae.data.run_rows import load_rows, training_rows_words
from betavae.run.folder import import_tensorflow
from betavae.run.opened import open_run
from betavae.run.samples import output_chunks
from betavae.words import counted

# The flags each mode uses, besides --mode, --checkpoint-dir and --verbose: a flag given to a mode that does not
# use it would be ignored, so it is refused (check_mode_flags). A new mode is one more entry.
MODE_FLAGS = {
    "prior": ("data", "num_samples", "mean_only", "output", "overwrite", "seed"),
    "recon": ("data", "rows", "mean_only", "output", "overwrite", "seed"),
    "encode": ("data", "rows", "with_scale", "output", "overwrite"),
    "evaluate": ("data", "rows", "iwae_samples", "num_samples", "plots", "slow_metrics", "seed"),
    "plot": ("data", "rows", "num_samples", "seed"),
    "export": ("output", "overwrite"),
}
MODES = tuple(MODE_FLAGS)
COMMON_FLAGS = ("checkpoint_dir", "verbose")  # every mode's
PATH_FLAGS = ("checkpoint_dir", "data", "rows", "output")


def build_parser(mode=None, prog=None):
    """Flags of the after-training script; the architecture comes from the checkpoint, not from flags.
    mode: a command of one mode (`betavae prior`), without --mode; its --help shows only the flags it uses.
    prog: the command's name (default: the script's)."""
    parser = OneLineParser(description=__doc__.splitlines()[0], prog=prog)
    if mode is None:
        parser.add_argument("--mode", required=True, choices=MODES, help="what to do with the model")
    else:
        parser.set_defaults(mode=mode)
    parser.add_argument("--checkpoint-dir", default="checkpoints", help="folder of a training run")
    parser.add_argument("--num-samples", type=int, default=10_000, help="prior samples to draw")
    parser.add_argument("--data", default=None,
                        help="where the run's data file (or test data file) is now, for a run whose data moved: "
                             "a copy checked against the SHA-256 recorded at training; the held-out test rows "
                             "stay those of the run's split")
    parser.add_argument("--rows", default=None,
                        help="rows to reconstruct, encode or evaluate on instead of the run's held-out test "
                             "rows (.npy, .csv, .txt/.dat); the report says how many of them are training rows")
    parser.add_argument("--iwae-samples", type=int, default=scoring.IWAE_SAMPLES,
                        help="importance samples per row for the IWAE estimate of -log p(x) (evaluate)")
    parser.add_argument("--slow-metrics", action="store_true",
                        help="evaluate: also DCI (gradient-boosted trees, about a minute per factor on 10,000 "
                             "rows) and the FactorVAE score (batches from the data's generator)")
    parser.add_argument("--plots", action="store_true",
                        help="evaluate: also draw the plots (as --mode plot does), after the report")
    parser.add_argument("--mean-only", action="store_true",
                        help="output decoder means instead of draws from the decoder's Gaussian")
    parser.add_argument("--with-scale", action="store_true",
                        help="encode: also write the log-scales of q(z|x), as columns after the means: "
                             "[N, 2 * latent_dim], means first (for a mixture posterior: its weights' logits, "
                             "then its components' means and log-scales; for a flow posterior: its base "
                             "Gaussian's means and log-scales, then its coupling steps' weights)")
    parser.add_argument("--output", default=None,
                        help="output file, format by extension (.npy, .csv, .txt); default: "
                             "<checkpoint-dir>/prior_samples.npy, recon.npy or codes.npy; export: the "
                             "SavedModel's folder (required)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output file (the run's own prior_samples.npy, recon.npy or "
                             "codes.npy is always replaced); export: replace an existing SavedModel")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent and decoder noise")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log messages")
    if mode is not None:
        for action in parser._actions:
            if action.dest not in MODE_FLAGS[mode] + COMMON_FLAGS + ("help", "version"):
                action.help = argparse.SUPPRESS
    return parser


DEFAULT_OUTPUTS = {"prior": "prior_samples.npy", "recon": "recon.npy", "encode": "codes.npy"}


def check_mode_flags(parser, args):
    """Refuse, before any work, a flag the user gave (its value differs from the parser's default) that
    args.mode does not use (MODE_FLAGS), and an empty path."""
    given = [action for action in parser._actions if action.dest not in ("help", "mode", "version")
             and getattr(args, action.dest) != action.default]
    # A command of one mode names the commands (betavae prior and betavae plot), the script its modes (--mode
    # prior and plot).
    prefix = "--mode " if "--mode" in parser._option_string_actions else ""
    named = (lambda mode: mode) if prefix else (lambda mode: f"betavae {mode}")
    for action in given:
        if action.dest not in MODE_FLAGS[args.mode] + COMMON_FLAGS:
            users = " and ".join(named(mode) for mode, flags in MODE_FLAGS.items() if action.dest in flags)
            raise UsageError(f"{action.option_strings[0]} does nothing in {prefix}{named(args.mode)}; it belongs "
                             f"to {prefix}{users}")
    for name in PATH_FLAGS:
        if getattr(args, name) == "":
            raise UsageError(f"{flag_name(name)}: an empty path; name a file or leave the flag out")


def given_rows(path, opened):
    """The rows of a --rows file in the columns the OpenRun was trained on; a file of another width is a
    UsageError."""
    return opened.fitting(load_rows(path, opened.config.columns, opened.config.column_names), path)


def trained_words(args, run, rows):
    """'none of them training rows' and the like for the rows of a --rows file, '' for the held-out test rows:
    whether the numbers written for them are held-out ones."""
    if args.rows is None:
        return ""
    count = run.training_rows_among(rows)
    if count is None:
        return "not checked against the training rows: the run's data is not found (pass --data)"
    return training_rows_words(count, len(rows))


def output_path(args, folder, config, rows, columns):
    """Where to write, checked before any work: not a file of the run or one it reads, a known format, an
    existing writable folder, room on the disk."""
    path = args.output or folder.file(DEFAULT_OUTPUTS[args.mode])
    folder.check_output(path, inputs=(config.data, config.test_data, args.data, args.rows), replace=args.overwrite)
    check_output_path(path, rows, columns)
    return path


def compare_line(moments, reference, label, count):
    """One line comparing the output's mean and covariance (moments, of count rows) with the reference
    data's; a covariance of a single row is undefined, so its error and the Frechet distance are n/a."""
    from betavae.scoring.references import moment_errors_of
    if min(count, len(reference)) < 2:
        mean_error = float(np.linalg.norm(moments[0] - reference.mean(axis=0)))
        return (f"vs {label} ({len(reference)}): mean error {mean_error:.4g} (L2, data units), covariance error "
                "n/a, Frechet n/a (a covariance needs at least 2 rows)")
    errors = moment_errors_of(*moments, *loading.moments(reference))
    relative = "n/a (the rows do not vary)" if errors["cov_error"] is None else f"{100 * errors['cov_error']:.2f}%"
    return (f"vs {label} ({len(reference)}): mean error {errors['mean_error']:.4g} (L2, data units), covariance "
            f"error {relative}, Frechet {errors['frechet']:.4g} (squared data units)")


def write_output(path, chunks, rows, columns, names=None):
    """Stream chunks of output rows into path (atomically; a .csv with a header of the columns' names);
    returns their (mean, covariance)."""
    moments = StreamMoments()
    with ArrayWriter(path, rows, columns, names=names) as writer:
        for chunk in chunks:
            writer.write(chunk)
            moments.add(chunk)
    return moments.mean_cov()


def sample_or_reconstruct(args, run, rows, label, path):
    """Rebuild the model of the OpenRun, then stream the prior samples or the reconstructions of rows to
    path. rows: the rows reconstructed, or compared with the prior samples (None: no comparison, label says
    why)."""
    model = run.model()
    if args.mode == "prior":
        chunks = output_chunks(model, args.seed, args.mean_only, num_samples=args.num_samples)
        count, what = args.num_samples, counted(args.num_samples, "prior sample")
    else:
        chunks = output_chunks(model, args.seed, args.mean_only, rows=rows)
        among = trained_words(args, run, rows)
        count, what = len(rows), f"{counted(len(rows), 'reconstruction')} of {label}{f' ({among})' if among else ''}"
    moments = write_output(path, chunks, count, run.config.data_dim, run.config.column_names)
    print(f"wrote {what}{' (decoder means)' if args.mean_only else ''} to {path}")
    if rows is None:
        warn(f"not compared with data: {label}")
    else:
        print(compare_line(moments, rows, label, count))
    return 0


def encode(args, run, rows, label, path):
    """Rebuild the model of the OpenRun, then write the codes E_q[z] of rows to path (with --with-scale,
    the posterior family's params() side by side instead: for the diagonal Gaussian, the means and then the
    log-scales of q(z|x)); a .csv's header names them (code_names)."""
    model = run.model()
    from betavae.model.inference import posterior_parameters
    from betavae.model.distributions import Posterior
    means, parameters = posterior_parameters(model, rows)
    codes = np.concatenate(list(parameters.values()), axis=1) if args.with_scale else means
    family = model.posterior_family if args.with_scale else Posterior  # the codes E_q[z] of any family
    names = code_names(family, parameters if args.with_scale else {"mean": means}, means.shape[1])
    with ArrayWriter(path, *codes.shape, names=names) as writer:
        writer.write(codes)
    written = ("the codes E_q[z]" if not args.with_scale else "the codes E_q[z] and log-scales"
               if tuple(parameters) == ("mean", "log_scale") else f"q(z|x)'s {', '.join(parameters)}")
    among = trained_words(args, run, rows)
    print(f"wrote {written} of the {label} ({codes.shape[0]} x {codes.shape[1]}{f'; {among}' if among else ''}) "
          f"to {path}")
    return 0


def code_names(family, parameters, latent_dim):
    """The names of the code columns of the posterior's parameters (arrays [rows, width] by name, in order), as
    the posterior family names them (Posterior.code_columns: for the diagonal Gaussian z1..zk for the mean,
    log_scale_z1..log_scale_zk)."""
    return tuple(column for name, values in parameters.items()
                 for column in family.code_columns(name, values.shape[1], latent_dim))


def export(args):
    """Write the run as a SavedModel at --output."""
    from betavae.serving import export_run
    if not args.output:
        raise UsageError("--mode export needs --output DIR, the folder to write the SavedModel to")
    path = export_run(open_run(args.checkpoint_dir, verbose=args.verbose), args.output, overwrite=args.overwrite)
    print(f"wrote a SavedModel of {args.checkpoint_dir} to {path}: sample(n, seed), encode(x), decode(z) in "
          "data units")
    return 0


def score_and_plot(args, run, rows):
    """--mode evaluate (the report, evaluation.json, and the plots with --plots) and --mode plot of the
    OpenRun, with a line per stage as it starts and ends; evaluation.json is written only once every number
    is computed. --mode plot draws the optimum of an evaluation.json of the current checkpoint."""
    def progress(line):
        print(line, flush=True)

    if args.verbose:
        import_tensorflow(verbose=True)  # before the scoring functions import it quietly

    if args.mode == "evaluate":
        report = scoring.evaluate_run(run, iwae_samples=args.iwae_samples, num_samples=args.num_samples,
                                      seed=args.seed, rows=rows, rows_label=f"rows of {args.rows}",
                                      slow_metrics=args.slow_metrics, progress=progress)
        path = scoring.save_report(run.folder, report)  # first: the numbers are kept even if printing fails
        print(scoring.format_report(report, args.checkpoint_dir))
        print(f"wrote {path}")
    if args.mode == "plot" or args.plots:
        best = (scoring.best_objective(report) if args.mode == "evaluate" else
                scoring.saved_best_objective(run, progress))
        paths = scoring.plot_run(run, num_samples=args.num_samples, seed=args.seed, rows=rows, best=best,
                                 progress=progress)
        print((f"wrote {counted(len(paths), 'plot')} to {run.folder.file('plots')}: "
               + ", ".join(os.path.basename(p) for p in paths)) if paths else "wrote no plots")
    return 0


def main(argv=None, mode=None, prog=None):
    """Check flags and files, rebuild the model, then sample, reconstruct, encode, evaluate, plot or export.
    mode: one mode's command (build_parser); prog: the command's name (default: the script's)."""
    parser = build_parser(mode, prog)
    args = parser.parse_args(argv)

    def run():
        check_mode_flags(parser, args)
        check_minimum(args, ("num_samples", "iwae_samples"), 1)
        check_seed(args.seed)
        if args.mode == "export":
            return export(args)
        opened = open_run(args.checkpoint_dir, verbose=args.verbose).with_data(args.data)
        folder, config = opened.folder, opened.config
        if args.data:
            opened.located()  # a --data file that is not the run's data is refused before any work
        rows, label = None, HELD_OUT_ROWS
        if args.rows:
            rows, label = given_rows(args.rows, opened), f"rows of {args.rows}"
        if args.mode in ("evaluate", "plot"):
            with folder.writing():  # evaluation.json and plots/ are the run's: never beside a training
                return score_and_plot(args, opened, rows)
        if rows is None:
            try:
                rows = opened.data()[1]
            except UsageError as missing:
                if args.mode != "prior":
                    raise
                label = str(missing)  # prior samples need no data: they are written, only not compared
        count = args.num_samples if args.mode == "prior" else len(rows)
        columns = config.latent_dim * (1 + args.with_scale) if args.mode == "encode" else config.data_dim
        path = output_path(args, folder, config, count, columns)
        # Writing inside the run needs its lock: never into a run that a training is still writing.
        with folder.writing() if folder.holds(path) else contextlib.nullcontext():
            if args.mode == "encode":
                return encode(args, opened, rows, label, path)
            return sample_or_reconstruct(args, opened, rows, label, path)

    return run_cli(run)
