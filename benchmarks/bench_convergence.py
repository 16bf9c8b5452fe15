"""Do default runs reach the optimum on data they were never tuned on? Generates fresh data, trains default
runs on fresh seeds, evaluates them and prints each gap against the targets below (a benchmark, not a test).

    python benchmarks/bench_convergence.py                          # linear beta 1 and 4, 200 epochs each
    python benchmarks/bench_convergence.py --families sine sheet mixture --betas 1 --seeds 1 2 3 4 5
    python benchmarks/bench_convergence.py --families periodic saturating roll fold periodic:24 roll:24 \
        --betas 1 --seeds 1 2 3 4 5 6 7 8 9 10                        # the folding families, ten seeds
    python benchmarks/bench_convergence.py --families periodic --betas 1 --seeds 1 2 3 --epochs 60 \
        --flags "--posterior flow"                                   # other training flags (docs/folding.md)

A family is a name (--dim 10) or name:D. Targets: linear data, beta 1: gap_to_linear_optimum <= 0.01 and
gap_to_fa <= 0.005; beta > 1: gap_to_linear_optimum <= 0.005 with the optimum's active units; non-linear
data, beta 1: gap_to_truth <= 0.05. At the end, per family and beta, a table of gap_to_truth over the seeds
(worst and median; targets: worst <= 0.05, median <= 0.02). Each run takes about 90 s of training
and 30 s of evaluation on an idle 2-core machine (the exact -log p(x) of a 2-D latent adds 15-50 s).
Each run's line also gives gap_decomposition's to_truth, approximation and amortization (n/a for a posterior
that is no diagonal Gaussian) and the training command's wall and CPU seconds (its cost).
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from betavae.run.folder import RunFolder  # noqa: E402  (needs the path above)
from betavae.data.family_maps import NONLINEAR_FAMILIES  # noqa: E402
from betavae.scoring.evaluate import load_report  # noqa: E402
# Correlation spectra of the fresh linear data: none is the shipped (7, 1.6).
SPECTRA = ("6.9,2.2", "5.5,3.0", "8.0,1.2")


def run(*args):
    """Run one of the suite's scripts and return its wall time and CPU time (s, user and system); a failure
    stops the benchmark with the script's own error."""
    started, cpu = time.perf_counter(), _children_cpu()
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return time.perf_counter() - started, _children_cpu() - cpu


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def decomposition_parts(report):
    """gap_decomposition's to_truth, approximation and amortization means (None where the report has none, e.g.
    for a posterior family that is no diagonal Gaussian)."""
    entry = report.get("gap_decomposition") or {}
    return {name: (entry.get(name) or {}).get("mean") for name in ("to_truth", "approximation", "amortization")}


def gaps(family, beta, report):
    """The gaps that the targets speak about, and whether the run meets them."""
    if family != "linear":
        return {"gap_to_truth": report["gap_to_truth"]}, report["gap_to_truth"] <= 0.05
    optimum = report["reference"]["linear_beta_optimum"]
    found = {"gap_to_linear_optimum": report["gap_to_linear_optimum"], "gap_to_fa": report["gap_to_fa"],
             "active_units": report["active_units_kl"], "optimum_active_units": optimum["active_units"]}
    if beta == 1:
        return found, found["gap_to_linear_optimum"] <= 0.01 and found["gap_to_fa"] <= 0.005
    return found, found["gap_to_linear_optimum"] <= 0.005 and found["active_units"] == optimum["active_units"]


def flags_label(flags):
    """The part of a run folder's name that says its extra training flags ('' for none)."""
    return "".join("_" + word.lstrip("-") for word in flags.split())


def family_spec(text):
    """(family, D) from 'name' (D = 10) or 'name:D'."""
    name, _, dim = text.partition(":")
    if name not in ("linear",) + NONLINEAR_FAMILIES or not (dim or "10").isdigit():
        raise argparse.ArgumentTypeError(f"'{text}': expected one of linear, {', '.join(NONLINEAR_FAMILIES)}, "
                                         "optionally with :D (e.g. roll:24)")
    return name, int(dim or 10)


def summary(gaps_by_case):
    """The table of gap_to_truth per (family, D, beta) over its seeds: worst, median, and whether both
    meet their targets."""
    lines = ["| data | beta | seeds | worst gap_to_truth | median | worst <= 0.05 and median <= 0.02 |",
             "| --- | --- | --- | --- | --- | --- |"]
    for (family, dim, beta), values in gaps_by_case.items():
        worst, median = max(values), float(np.median(values))
        lines.append(f"| {family}, D = {dim} | {beta:g} | {len(values)} | {worst:.4f} | {median:.4f} | "
                     f"{'met' if worst <= 0.05 and median <= 0.02 else 'MISSED'} |")
    return "\n".join(lines)


def main():
    """Generate, train, evaluate and print one line per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=[("linear", 10)], type=family_spec,
                        help="linear, " + ", ".join(NONLINEAR_FAMILIES) + "; name:D for D dimensions")
    parser.add_argument("--betas", nargs="+", type=float, default=[1.0, 4.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[101, 102, 103])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--workdir", default=None, help="keep data and runs here (default: a temporary folder)")
    parser.add_argument("--train-flags", "--flags", default="",
                        help="extra training flags, e.g. '--posterior mixture --components 2'; the run folders' names "
                             "carry them, so runs of other flags can share --workdir (and its data)")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench_convergence_")
    os.makedirs(workdir, exist_ok=True)
    gaps_by_case = {}
    for family, dim in args.families:
        for index, seed in enumerate(args.seeds):
            data = os.path.join(workdir, f"{family}_{dim}d_{seed}.npy")
            spectrum = ["--eigenvalues", SPECTRA[index % len(SPECTRA)]] if family == "linear" else []
            if not os.path.exists(data):
                run("data_processing.py", "generate", "--family", family, "--dim", str(dim), "--seed", str(seed),
                    *spectrum, "--output", data)
            for beta in args.betas:
                folder = os.path.join(workdir, f"{family}_{dim}d_{seed}_beta{beta:g}{flags_label(args.train_flags)}")
                train_seconds, train_cpu = run("beta_vae_main.py", "--data", data, "--beta", str(beta), "--seed",
                                               str(seed), "--epochs", str(args.epochs), "--checkpoint-dir", folder,
                                               "--overwrite", *args.train_flags.split())
                run("beta_vae_after_training.py", "--mode", "evaluate", "--checkpoint-dir", folder)
                report = load_report(RunFolder(folder))
                found, met = gaps(family, beta, report)
                gaps_by_case.setdefault((family, dim, beta), []).append(report["gap_to_truth"])
                folded = (report.get("folded_posterior") or {}).get("share_of_rows")
                print(f"{family} D={dim} seed={seed} {' '.join(spectrum[1:])} beta={beta:g} "
                      + " ".join(f"{name}={value:.4f}" if isinstance(value, float) else f"{name}={value}"
                                 for name, value in found.items())
                      + "".join(f" {name}={'n/a' if value is None else f'{value:.4f}'}"
                                for name, value in decomposition_parts(report).items())
                      + f" folded_rows={'n/a' if folded is None else f'{folded:.4f}'}"
                      + f" train_seconds={train_seconds:.1f} train_cpu_seconds={train_cpu:.1f}"
                      + f" target={'met' if met else 'MISSED'}", flush=True)
    print(summary(gaps_by_case))
    print(f"runs in {workdir}")


if __name__ == "__main__":
    main()
