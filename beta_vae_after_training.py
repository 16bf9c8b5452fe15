"""Use a trained beta-VAE: sample, reconstruct or evaluate it, rebuilt from --checkpoint-dir alone.

  python beta_vae_after_training.py --mode prior      # z ~ N(0, I) -> decoder -> x
  python beta_vae_after_training.py --mode recon      # x -> encoder -> z ~ q(z|x) -> decoder -> x
  python beta_vae_after_training.py --mode evaluate   # scores against the exact references, plots
  python beta_vae_after_training.py --mode plot       # the plots alone
"""
import argparse
import json
import os
import sys

import numpy as np

import data_processing
from beta_vae_run import (OneLineParser, UsageError, check_minimum, load_config, load_run_data, read_history,
                          restore_model, run_cli)

MODES = ("prior", "recon", "evaluate", "plot")
EXPECTATION_SAMPLES = 64  # z draws per row for the test ELBO and beta-objective


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
    parser.add_argument("--iwae-samples", type=int, default=1000,
                        help="importance samples per row for the IWAE estimate of -log p(x) (evaluate)")
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


def references(config, train, test, truth):
    """The exact references of Gaussian data (beta_vae_evaluation), fitted to the training rows and
    scored on the test rows; truth is the dataset's truth JSON, or None."""
    import beta_vae_evaluation as evaluation
    from beta_vae_layers import LOG_SCALE_MIN
    train_mean, train_cov = train.mean(axis=0), np.atleast_2d(np.cov(train, rowvar=False, bias=True))
    test_mean, test_cov = test.mean(axis=0), np.atleast_2d(np.cov(test, rowvar=False, bias=True))
    loadings, psi = evaluation.factor_analysis(train_cov, config["latent_dim"])
    result = {"gaussian_nll": evaluation.gaussian_nll(test, train_mean, np.atleast_2d(np.cov(train, rowvar=False))),
              "fa_nll": evaluation.gaussian_nll(test, train_mean, loadings @ loadings.T + np.diag(psi)),
              "collapse_beta": evaluation.collapse_beta(train_cov)}
    if truth is not None:
        result["true_nll"] = evaluation.gaussian_nll(test, truth["mean"], truth["covariance"])
        result["entropy"] = evaluation.gaussian_entropy(truth["covariance"])
    if config["beta"] > 0:
        result["linear_beta_optimum"] = evaluation.held_out_linear_optimum(
            (train_mean, train_cov), (test_mean, test_cov), config["beta"], config["latent_dim"], LOG_SCALE_MIN)
    return result


def evaluate(model, config, train, test, truth, args):
    """Every score of a trained model on the test rows, in nats per sample and the data's units; returns
    (report, prior samples, latent means) so the plots can reuse them."""
    import beta_vae_evaluation as evaluation
    from beta_vae_inference import (encode_with_kl, expected_loss_terms, iwae_log_likelihood,
                                    quadrature_log_likelihood, reconstruct, sample_prior)
    from beta_vae_models import beta_objective
    beta = config["beta"]
    kl, log_likelihood = expected_loss_terms(model, test, EXPECTATION_SAMPLES, args.seed)
    code_means, kl_by_dim = encode_with_kl(model, test)
    report = {"beta": beta, "latent_dim": config["latent_dim"], "test_rows": len(test),
              "test_elbo": float(np.mean(log_likelihood - kl)),
              "test_beta_objective": float(np.mean(beta_objective(kl, log_likelihood, beta))),
              "test_nll_iwae": -float(np.mean(iwae_log_likelihood(model, test, args.iwae_samples, args.seed))),
              "iwae_samples": args.iwae_samples, "kl": float(np.mean(kl)),
              "kl_per_dim": kl_by_dim.mean(axis=0).tolist(), "active_units": evaluation.active_units(code_means),
              "active_units_kl": int(np.sum(kl_by_dim.mean(axis=0) > evaluation.ACTIVE_THRESHOLD))}
    if config["latent_dim"] <= 2:
        report["test_nll_quadrature"] = -float(np.mean(quadrature_log_likelihood(model, test)))
    report["reference"] = references(config, train, test, truth)
    report["gap_to_fa"] = report["test_nll_iwae"] - report["reference"]["fa_nll"]
    if "linear_beta_optimum" in report["reference"]:
        report["gap_to_linear_optimum"] = (report["test_beta_objective"]
                                           - report["reference"]["linear_beta_optimum"]["objective"])
    samples = sample_prior(model, args.num_samples, args.seed)
    test_mean, test_cov = data_processing.moments(test)
    report["prior_samples"] = evaluation.moment_errors(samples, test_mean, test_cov)
    if truth is not None:
        report["prior_samples"]["truth"] = evaluation.moment_errors(samples, truth["mean"], truth["covariance"])
    squared_errors = (reconstruct(model, test, args.seed, mean_only=True) - test) ** 2
    report["recon"] = {"mse": float(squared_errors.mean()),
                       "explained_variance": (1 - squared_errors.mean(axis=0) / test.var(axis=0)).tolist()}
    return report, samples, code_means


def format_report(report, checkpoint_dir):
    """The evaluation as a few readable lines."""
    reference = report["reference"]
    numbers = lambda values: "[" + ", ".join(f"{value:.3f}" for value in values) + "]"  # noqa: E731
    lines = [f"evaluation of {checkpoint_dir}: beta {report['beta']:g}, latent {report['latent_dim']}, "
             f"{report['test_rows']} test rows; nats per sample",
             f"  test ELBO {report['test_elbo']:.4f}; beta-objective {report['test_beta_objective']:.4f}"]
    if "linear_beta_optimum" in reference:
        optimum = reference["linear_beta_optimum"]
        lines.append(f"  linear optimum at this beta: objective {optimum['objective']:.4f}, rate "
                     f"{optimum['rate']:.4f}, KL per dim {numbers(optimum['kl_per_dim'])}, active units "
                     f"{optimum['active_units']}; gap_to_linear_optimum {report['gap_to_linear_optimum']:.4f}")
    quadrature = (f", quadrature {report['test_nll_quadrature']:.4f}" if "test_nll_quadrature" in report else "")
    lines.append(f"  -log p(x): IWAE (K={report['iwae_samples']}) {report['test_nll_iwae']:.4f}{quadrature}; "
                 f"FA {reference['fa_nll']:.4f}; gap_to_fa {report['gap_to_fa']:.4f}")
    truth = (f", truth {reference['true_nll']:.4f} (entropy {reference['entropy']:.4f})"
             if "true_nll" in reference else "")
    lines.append(f"  references: full-covariance Gaussian {reference['gaussian_nll']:.4f}{truth}")
    lines.append(f"  KL {report['kl']:.4f}, per dim {numbers(report['kl_per_dim'])}; active units "
                 f"{report['active_units']} (by KL {report['active_units_kl']}); total collapse is optimal from "
                 f"beta {reference['collapse_beta']:.3f}")
    prior = report["prior_samples"]
    against_truth = (f"; vs truth {prior['truth']['mean_error']:.4f}, {100 * prior['truth']['cov_error']:.2f}%, "
                     f"{prior['truth']['frechet']:.4f}" if "truth" in prior else "")
    lines.append(f"  prior samples vs test data: mean error {prior['mean_error']:.4f}, covariance error "
                 f"{100 * prior['cov_error']:.2f}%, Frechet {prior['frechet']:.4f}{against_truth}")
    lines.append(f"  reconstruction (decoder means): MSE {report['recon']['mse']:.4f}, explained variance per "
                 f"dim {numbers(report['recon']['explained_variance'])}")
    return "\n".join(lines)


def write_plots(checkpoint_dir, test, samples, code_means, truth):
    """The run's PNG plots into <checkpoint-dir>/plots/; returns their paths."""
    import beta_vae_plots as plots
    folder = os.path.join(checkpoint_dir, "plots")
    paths = {name: os.path.join(folder, f"{name}.png") for name in ("history", "pairs", "latent", "covariances")}
    plots.plot_history(read_history(checkpoint_dir), paths["history"])
    plots.plot_pairs(test, samples, paths["pairs"])
    plots.plot_latent(code_means, paths["latent"])
    matrices = {"test data": data_processing.moments(test)[1], "prior samples": data_processing.moments(samples)[1]}
    if truth is not None:
        matrices["truth"] = np.array(truth["covariance"])
    plots.plot_covariances(matrices, paths["covariances"])
    return list(paths.values())


def main(argv=None):
    """Check flags and files, rebuild the model, then sample, reconstruct, evaluate or plot."""
    args = build_parser().parse_args(argv)

    def run():
        check_minimum(args, ("num_samples", "iwae_samples"), 1)
        config = load_config(args.checkpoint_dir)
        path = output_path(args) if args.mode in ("prior", "recon") else None
        train_rows, test_rows = load_run_data(config)
        rows, label = test_rows, "held-out test rows"
        if args.data:
            rows, label = data_processing.load_data(args.data).astype(np.float32), args.data
            if rows.shape[1] != config["data_dim"]:
                raise UsageError(f"{args.data}: has {rows.shape[1]} columns, the model in "
                                 f"{args.checkpoint_dir} was trained on {config['data_dim']}")
        model, _ = restore_model(args.checkpoint_dir, args.verbose)
        from beta_vae_inference import encode_with_kl, reconstruct, sample_prior
        if path:
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
        truth = data_processing.load_truth(config["data"])
        if args.mode == "evaluate":
            report, samples, code_means = evaluate(model, config, train_rows, rows, truth, args)
            import tensorflow as tf  # already loaded by restore_model
            report["checkpoint"] = os.path.basename(tf.train.latest_checkpoint(args.checkpoint_dir))  # for reuse
            report_path = os.path.join(args.checkpoint_dir, "evaluation.json")
            data_processing.atomic_write_text(report_path, json.dumps(report, indent=1) + "\n")
            print(format_report(report, args.checkpoint_dir))
            print(f"wrote {report_path}")
        else:
            samples = sample_prior(model, args.num_samples, args.seed)
            code_means = encode_with_kl(model, rows)[0]
        paths = write_plots(args.checkpoint_dir, rows, samples, code_means, truth)
        print(f"wrote {len(paths)} plots to {os.path.dirname(paths[0])}: "
              + ", ".join(os.path.basename(p) for p in paths))
        return 0

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
