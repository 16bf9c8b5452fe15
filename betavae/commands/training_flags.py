"""The training flags' parser (generated from betavae.fields) and which flags a command line gave: read by the
training CLI and by the sweep CLI for its pass-through flags. No TensorFlow, no numpy.
"""
import argparse

from betavae.cli import OneLineParser
from betavae.fields import FLAGS


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
    return parser


def given_flags(parser, argv):
    """The names of the flags given on the command line (not left at their defaults)."""
    unset = object()
    given = parser.parse_args(argv, argparse.Namespace(**{spec.name: unset for spec in FLAGS}))
    return {spec.name for spec in FLAGS if getattr(given, spec.name) is not unset}
