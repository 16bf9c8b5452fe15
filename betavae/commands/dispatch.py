"""The `betavae` command (also `python -m betavae`): one subcommand per job, each the CLI of a top-level script
under another name, with the same flags and numbers: `betavae train` is `python beta_vae_main.py`, `betavae
prior` is `python beta_vae_after_training.py --mode prior`, and so on.
"""
import argparse
import gc
import sys

from betavae.cli import OneLineParser

PROG = "betavae"


def _train(argv, prog):
    from betavae.commands import train
    return train.main(argv, prog=prog)


def _mode(mode):
    def run(argv, prog):
        from betavae.commands import after_training
        return after_training.main(argv, mode=mode, prog=prog)
    return run


def _sweep(argv, prog):
    from betavae.commands import sweep
    return sweep.main(argv, prog=prog)


def _generate(argv, _prog):
    from betavae.commands import generate
    return generate.main(["generate", *argv], prog=PROG)


# name: (what it does, the script it stands for, the function that runs it with argv and its prog)
COMMANDS = {
    "train": ("train a run (or --resume one)", "beta_vae_main.py", _train),
    "prior": ("sample the prior: z ~ N(0, I) -> decoder -> x", "beta_vae_after_training.py --mode prior",
              _mode("prior")),
    "recon": ("reconstruct rows: x -> z ~ q(z|x) -> decoder -> x", "beta_vae_after_training.py --mode recon",
              _mode("recon")),
    "encode": ("the codes E_q[z] of rows", "beta_vae_after_training.py --mode encode", _mode("encode")),
    "evaluate": ("score a run against the exact references", "beta_vae_after_training.py --mode evaluate",
                 _mode("evaluate")),
    "plot": ("draw a run's plots", "beta_vae_after_training.py --mode plot", _mode("plot")),
    "export": ("write a run as a TensorFlow SavedModel", "beta_vae_after_training.py --mode export",
               _mode("export")),
    "sweep": ("train and evaluate one run per beta and seed", "beta_vae_sweep.py", _sweep),
    "generate": ("generate data with a known truth", "data_processing.py generate", _generate),
}


def build_parser():
    """The command's own flags (--help, --version) and the list of subcommands its --help shows."""
    listing = "\n".join(f"  {name:<9} {summary} (python {script})" for name, (summary, script, _) in COMMANDS.items())
    return OneLineParser(prog=PROG, usage=f"{PROG} <command> [flags]  (see {PROG} <command> --help)",
                         description="A beta-VAE for vector data: train, use and evaluate runs, sweep beta.",
                         epilog=f"commands:\n{listing}", formatter_class=argparse.RawDescriptionHelpFormatter)


def main(argv=None):
    """Run the subcommand named by argv's first word with the rest of argv; returns its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-"):
        parser.parse_args(argv[:1])  # --help and --version exit here; another flag is an error
        parser.error(f"a command is required: {', '.join(COMMANDS)}")
    if argv[0] not in COMMANDS:
        parser.error(f"unknown command '{argv[0]}': expected one of {', '.join(COMMANDS)}")
    return COMMANDS[argv[0]][2](argv[1:], f"{PROG} {argv[0]}")


def console():
    """main() as a program: its exit status, with the heap frozen first, since the interpreter's last garbage
    collections would walk every object TensorFlow made, for seconds, after the work is written."""
    status = main()
    gc.freeze()
    return status
