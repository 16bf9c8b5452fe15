"""The training flags' parser (generated from betavae.fields), which flags a command line gave, and the
settings of the file --config names beneath them: read by the training CLI and by the sweep CLI for its
pass-through flags. No TensorFlow, no numpy.
"""
import argparse

from betavae.cli import OneLineParser
from betavae.fields import FLAGS
from betavae.training.settings_file import apply_settings, read_settings_file, training_values

CONFIG_HELP = ("read settings from this TOML file, named as in config.json (beta = 4.0, latent_dim = 2), or from "
               "a finished run's config.json (its recorded facts ignored); flags given too override it")


def build_parser(description=None, prog=None):
    """Command-line flags, generated from betavae.fields.FIELDS so that each flag's default, help and choices
    live in one place and --help shows them. description: the first line of --help (the CLI's); prog: the
    command's name in --help and errors (default: the script's)."""
    parser = OneLineParser(description=description, prog=prog)
    for spec in FLAGS:
        if spec.choices:
            parser.add_argument(spec.flag, default=spec.default, choices=spec.choices, help=spec.help)
        elif spec.kind is bool:
            parser.add_argument(spec.flag, action="store_true", help=spec.help)
        else:
            parser.add_argument(spec.flag, default=spec.default, type=spec.value_type, help=spec.help)
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    return parser


def given_flags(parser, argv, names=None):
    """The names of the flags given on the command line (not left at their defaults), among `names` (default:
    the training flags)."""
    names = [spec.name for spec in FLAGS] if names is None else list(names)
    unset = object()
    given = parser.parse_args(argv, argparse.Namespace(**{name: unset for name in names}))
    return {name for name in names if getattr(given, name) is not unset}


def with_settings_file(args, given):
    """args with the settings of the file that --config names (training.settings_file) beneath the flags
    `given`, which win; --config itself is taken off args. Returns the names of the settings given by flag or
    file (what --resume compares with the run's)."""
    path = vars(args).pop("config", None)
    return given if path is None else apply_settings(args, given, training_values(read_settings_file(path)))
