"""Train and evaluate one beta-VAE per beta, and compare rate, distortion and active units with the theory.

    python beta_vae_sweep.py --betas 0.25,0.5,1,2,4,8,16 --epochs 200 [--jobs 2]

Each beta trains into <sweep-dir>/beta_<b>/ (beta_vae_main.py) and is evaluated there
(beta_vae_after_training.py --mode evaluate); <sweep-dir>/sweep.csv collects the results next to the best
linear-Gaussian model at each beta, and <sweep-dir>/plots/ shows them. Flags after `--` go to training.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from beta_vae_run import (OneLineParser, RunFolder, UsageError, check_minimum, import_tensorflow, load_run_data,
                          run_cli)

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ("beta", "rate", "distortion", "test_nll_iwae", "active_units", "kl_per_dim", "optimum_objective",
           "optimum_rate", "optimum_distortion", "optimum_active_units")


def parse_betas(text):
    """'0.25,0.5,1' -> [0.25, 0.5, 1.0]; each beta finite and >= 0, no repeats."""
    try:
        betas = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--betas {text!r}: expected comma-separated numbers such as 0.5,1,4") from None
    if not betas or any(not np.isfinite(beta) or beta < 0 for beta in betas) or len(set(betas)) < len(betas):
        raise UsageError(f"--betas {text!r}: expected distinct finite numbers >= 0")
    return sorted(betas)


def run_one(beta, args, training_flags):
    """Train and evaluate the model of one beta in subprocesses; returns its evaluation report."""
    folder = os.path.join(args.sweep_dir, f"beta_{beta:g}")
    resume = ["--resume"] if RunFolder(folder).is_run() else []
    commands = [[sys.executable, os.path.join(HERE, "beta_vae_main.py"), "--beta", repr(beta), "--epochs",
                 str(args.epochs), "--checkpoint-dir", folder, *resume, *training_flags],
                [sys.executable, os.path.join(HERE, "beta_vae_after_training.py"), "--mode", "evaluate",
                 "--checkpoint-dir", folder, "--iwae-samples", str(args.iwae_samples)]]
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise UsageError(f"beta {beta:g}: {os.path.basename(command[1])} failed: "
                             f"{(result.stderr.strip().splitlines() or ['no message'])[-1]}")
    print(f"beta {beta:g}: done ({folder})", flush=True)
    with open(RunFolder(folder).file("evaluation.json"), encoding="utf-8") as handle:
        return json.load(handle)


def sweep_row(report):
    """One sweep.csv row from an evaluation report: the model's rate/distortion and the linear optimum's."""
    optimum = report["reference"].get("linear_beta_optimum", {})
    rate = report["kl"]
    return {"beta": report["beta"], "rate": rate, "distortion": report["test_beta_objective"] - report["beta"] * rate,
            "test_nll_iwae": report["test_nll_iwae"], "active_units": report["active_units"],
            "kl_per_dim": ";".join(f"{value:.5f}" for value in sorted(report["kl_per_dim"], reverse=True)),
            "optimum_objective": optimum.get("objective", ""), "optimum_rate": optimum.get("rate", ""),
            "optimum_distortion": optimum.get("distortion", ""),
            "optimum_active_units": optimum.get("active_units", "")}


def optimum_curve(config, betas):
    """The linear optimum (fitted to the training rows, scored on the test rows) over a grid of beta."""
    from beta_vae_evaluation import held_out_linear_optimum
    import_tensorflow()  # quietly, before beta_vae_layers imports it for the scale floor
    from beta_vae_layers import LOG_SCALE_MIN
    train, test = load_run_data(config)
    train_moments = (train.mean(axis=0), np.cov(train, rowvar=False, bias=True))
    test_moments = (test.mean(axis=0), np.cov(test, rowvar=False, bias=True))
    return [{"beta": beta, **held_out_linear_optimum(train_moments, test_moments, beta, config.latent_dim,
                                                     LOG_SCALE_MIN)} for beta in betas]


def main(argv=None):
    """Parse the sweep's flags, run every beta (in parallel with --jobs), then write sweep.csv and plots."""
    argv = sys.argv[1:] if argv is None else list(argv)
    training_flags = argv[argv.index("--") + 1:] if "--" in argv else []
    parser = OneLineParser(description=__doc__.splitlines()[0],
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--betas", default="0.25,0.5,1,2,4,8,16", help="comma-separated values of beta")
    parser.add_argument("--epochs", type=int, default=200, help="epochs per model")
    parser.add_argument("--sweep-dir", default=os.path.join("checkpoints", "sweep"), help="where the runs go")
    parser.add_argument("--jobs", type=int, default=1, help="models trained at once (each uses the cores it finds)")
    parser.add_argument("--iwae-samples", type=int, default=200, help="importance samples for -log p(x)")
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    def run():
        betas = parse_betas(args.betas)
        check_minimum(args, ("epochs", "jobs", "iwae_samples"), 1)
        os.makedirs(args.sweep_dir, exist_ok=True)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            reports = list(pool.map(lambda beta: run_one(beta, args, training_flags), betas))
        rows = [sweep_row(report) for report in reports]
        path = os.path.join(args.sweep_dir, "sweep.csv")
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        print(format_table(rows))
        config = RunFolder(os.path.join(args.sweep_dir, f"beta_{betas[0]:g}")).load_config()
        grid = np.geomspace(min(b for b in betas if b > 0) / 1.5, max(betas) * 1.5, 60) if max(betas) > 0 else []
        import beta_vae_plots as plots
        curve = optimum_curve(config, grid)
        folder = os.path.join(args.sweep_dir, "plots")
        plots.plot_sweep(reports, curve, folder)
        print(f"wrote {path} and plots in {folder}")
        return 0

    return run_cli(run)


def format_table(rows):
    """The sweep as an aligned text table."""
    header = f"{'beta':>6} {'rate':>8} {'distortion':>11} {'nll_iwae':>9} {'units':>5}   {'optimum: rate':>13} " \
             f"{'distortion':>10} {'units':>5}"
    lines = [header]
    for row in rows:
        optimum = (f"{row['optimum_rate']:13.4f} {row['optimum_distortion']:10.4f} {row['optimum_active_units']:5d}"
                   if row["optimum_rate"] != "" else f"{'(beta 0: none)':>13}")
        lines.append(f"{row['beta']:6g} {row['rate']:8.4f} {row['distortion']:11.4f} {row['test_nll_iwae']:9.4f} "
                     f"{row['active_units']:5d}   {optimum}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
