"""`python data_processing.py generate`: sample a dataset with a known truth, and write it with its truth
JSON and its true latents."""
import os

import numpy as np

from betavae.cli import OneLineParser, check_seed, os_errors, run_cli
from betavae.data.families import DEFAULT_EIGENVALUE_RATIO, DEFAULT_TOP_EIGENVALUE, NONLINEAR_FAMILIES, generate
from betavae.data.loading import (DataError, check_not_side_file, data_files_named, file_digest, latents_path,
                                  save_array, truth_path)
from betavae.data.truth import write_truth
from betavae.files import check_output_path, folder_made_for, output_bytes
from betavae.memory import check_memory
from betavae.words import counted

# Memory of generation: the rows' float64 temporaries (latents, noise, their sum) and the float32 result,
# per value; and copies of the D x D matrices the factor model decomposes.
GENERATE_BYTES_PER_VALUE = 3 * 8 + 4
MATRIX_COPIES = 6
TRUTH_BYTES_PER_NUMBER = 26  # a float's repr, the indentation and the line break


def build_parser(prog=None):
    """The `generate` command's flags (a subcommand of data_processing.py); also read by the CLI reference
    (docs/make_cli_reference.py). prog: the command's name (default: the script's)."""
    parser = OneLineParser(description="Data for the beta-VAE: the `generate` command.", prog=prog)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("generate", help="sample factor-model or non-linear data")
    make.add_argument("--family", default="linear", choices=("linear",) + NONLINEAR_FAMILIES,
                      help="linear: the Gaussian factor model; the others: non-linear maps of a 1-D or 2-D latent "
                           "(see betavae/data/family_maps.py)")
    make.add_argument("--dim", type=int, default=10, help="data dimension D")
    make.add_argument("--factors", type=int, default=2, help="number of latent factors (dimension of the true z)")
    make.add_argument("--rows", type=int, default=100_000, help="number of samples")
    make.add_argument("--seed", type=int, default=0, help="random seed")
    make.add_argument("--eigenvalues", default=None,
                      help="linear family: comma-separated top eigenvalues of the correlation matrix, one per "
                           f"factor (default: {DEFAULT_TOP_EIGENVALUE} D, then each {DEFAULT_EIGENVALUE_RATIO} "
                           "times the one before)")
    make.add_argument("--output", default="data/gaussian_10d.npy", help="output file (.npy, .csv, .txt)")
    make.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    return parser


def main(argv=None, prog=None):
    """`python data_processing.py generate`: write generated data, its truth JSON (with the data file's SHA-256)
    and its true latents. prog: the command's name (default: the script's)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    return run_cli(lambda: write_dataset(args))


def write_dataset(args):
    """Check the flags and the memory, create --output's folder if it is missing, then check the disk space of
    every output, generate and write them (a failure removes the folder again)."""
    if min(args.dim, args.factors, args.rows) < 1 or args.factors >= args.dim:
        raise DataError(f"need 1 <= --factors < --dim and --rows >= 1, got {args.factors}, {args.dim}, "
                        f"{args.rows}")
    check_seed(args.seed)
    check_not_side_file(args.output)
    if os.path.exists(args.output) and not args.overwrite:
        raise DataError(f"{args.output} exists; pass --overwrite to replace it, or choose another --output")
    check_side_files(args.output, args.overwrite)
    eigenvalues = None if args.eigenvalues is None else _parse_numbers(args.eigenvalues)
    check_memory(GENERATE_BYTES_PER_VALUE * args.rows * (args.dim + args.factors) + MATRIX_COPIES * 8 * args.dim ** 2,
                 f"--rows {args.rows} x --dim {args.dim}")
    with folder_made_for(args.output):
        side = (output_bytes(latents_path(args.output), args.rows, args.factors, np.float64)
                + _truth_bytes(args.dim, args.factors))
        check_output_path(args.output, args.rows, args.dim, side_bytes=side, side_files=", their latents and truth")
        try:
            data, truth = generate(args.dim, args.factors, args.rows, args.seed, eigenvalues, args.family)
        except ValueError as error:  # a spectrum the factor model cannot reach
            raise DataError(str(error)) from None
        save_array(args.output, data)
        save_array(latents_path(args.output), truth.pop("latents"))
        truth["command"] = (f"python data_processing.py generate --family {args.family} --dim {args.dim} --factors "
                            f"{args.factors} --rows {args.rows} --seed {args.seed} --output {args.output}"
                            + ("" if args.eigenvalues is None else f" --eigenvalues {args.eigenvalues}"))
        truth["data_sha256"] = file_digest(args.output)  # what load_truth checks: that these are still its data
        with os_errors(truth_path(args.output), "cannot write"):
            write_truth(truth_path(args.output), truth, args.dim)
    top = ", ".join(f"{v:.2f}" for v in np.linalg.eigvalsh(_correlation(truth["covariance"]))[::-1][:args.factors + 1])
    print(f"wrote {counted(args.rows, 'row')} x {args.dim} ({args.family}) to {args.output}; correlation eigenvalues "
          f"{top}, ...")
    return 0


def check_side_files(output, overwrite):
    """Refuse to replace the truth or latents beside output (named after its stem, so shared by
    data.npy and data.csv) unless --overwrite: they may be another data file's."""
    stem = os.path.splitext(output)[0]
    owners = [owner for owner in data_files_named(stem)
              if not (os.path.exists(output) and os.path.samefile(owner, output))]
    for side in (truth_path(output), latents_path(output)):
        if os.path.lexists(side) and not overwrite:
            owner = f"belongs to {owners[0]}" if owners else "exists"
            raise DataError(f"{side}: {owner} (side files are named after the data file's stem); choose another "
                            "--output, or pass --overwrite to replace it")


def _truth_bytes(dim, factors):
    """About how many bytes the truth JSON takes: its D x D covariance, D x factors loadings and D-vectors,
    each number on a line of its own (json indent=1)."""
    return TRUTH_BYTES_PER_NUMBER * (dim * dim + dim * factors + 4 * dim) + 4096


def _parse_numbers(text):
    try:
        return [float(value) for value in text.split(",")]
    except ValueError:
        raise DataError(f"--eigenvalues '{text}': expected comma-separated numbers such as 7,1.6") from None


def _correlation(covariance):
    scale = 1.0 / np.sqrt(np.diag(covariance))
    return np.asarray(covariance) * np.outer(scale, scale)
