"""The training flags a folded run's evaluation suggests (folded_posterior's remedy_flags): only for a folded run
of the beta objective at beta <= 1, named word for word by the report's note, and accepted by the training
parser."""
import re
import shlex
import types

import numpy as np
import pytest

from betavae.commands.training_flags import build_parser, given_flags
from betavae.fields import FLAG_DEFAULTS
from betavae.scoring.folding import (FOLDED_GAP, FOLDED_SHARE, REMEDY_FLAGS, REMEDY_SETTINGS, folded_posterior,
                                    folding_lines)
from betavae.scoring.sections.likelihood import FoldingSection
from betavae.training.flags import validate_flags
from test_objectives import config


def row_scores(rows, folded):
    """Score rows of unequal ELBOs of which `folded` have log p(x) more than FOLDED_GAP above their ELBO."""
    rng = np.random.default_rng(rows)
    log_likelihood = rng.normal(-12.0, 2.0, rows)
    kl = rng.uniform(0.5, 3.0, rows)
    gap = np.where(np.arange(rows) < folded, FOLDED_GAP + rng.uniform(0.01, 2.0, rows), rng.uniform(-0.2, 0.9, rows))
    return {"log_likelihood": log_likelihood, "kl": kl, "iwae": log_likelihood - kl + gap}


def fragment(line):
    """The argv words of the command fragment a note line names between backquotes, or None."""
    found = re.findall(r"`([^`]*)`", line)
    return shlex.split(found[0]) if found else None


# 3 of 151 rows (1.99%) are above FOLDED_SHARE, 1 of 100 (exactly 1%) is not: the rule is strictly above.
FOLDED, AT_THE_SHARE = row_scores(151, 3), row_scores(100, 1)


def computed(run_config, rows=FOLDED):
    """folded_posterior as the evaluation's folding section computes it for a run of run_config."""
    context = types.SimpleNamespace(config=run_config, scores=lambda: {"row_scores": rows})
    return FoldingSection().compute(context)["folded_posterior"]


@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_a_folded_run_of_the_beta_objective_at_beta_up_to_1_is_given_the_flags(beta):
    entry = computed(config(beta=beta))
    assert entry["share_of_rows"] == pytest.approx(3 / 151) and entry["share_of_rows"] > FOLDED_SHARE
    assert entry["remedy_flags"] == list(REMEDY_FLAGS)


@pytest.mark.parametrize("changes", [{"beta": 1.5}, {"beta": 4.0}, {"beta": 1.0, "objective": "iwae", "mc_samples": 8},
                                     {"beta": 1.0, "objective": "iwae", "mc_samples": 8, "iwae_gradient": "dreg"},
                                     {"beta": 1.0, "objective": "tc"}, {"beta": 1.0, "capacity": 5.0}])
def test_no_flags_above_beta_1_nor_for_another_objective(changes):
    """The last: a config whose objective field says beta but that sets a capacity trains the capacity
    objective."""
    assert computed(config(**changes))["remedy_flags"] == []


def test_no_flags_at_or_under_the_share_threshold():
    entry = computed(config(beta=1.0), AT_THE_SHARE)
    assert entry["share_of_rows"] == FOLDED_SHARE and entry["remedy_flags"] == []
    assert computed(config(beta=1.0), row_scores(150, 0))["remedy_flags"] == []
    assert all(fragment(line) is None for line in folding_lines(entry))


def test_no_flags_for_a_run_that_trained_with_them_already():
    typed = {name: type(getattr(config(), name))(value) for name, value in REMEDY_SETTINGS.items()}
    assert computed(config(beta=1.0, **typed))["remedy_flags"] == []
    for name in typed:  # one of them left at the default's value: the suggestion still changes something
        partly = {key: value for key, value in typed.items() if key != name}
        if getattr(config(beta=1.0, **partly), name) != typed[name]:
            assert computed(config(beta=1.0, **partly))["remedy_flags"] == list(REMEDY_FLAGS), name


@pytest.mark.parametrize("flags", [list(REMEDY_FLAGS), ["--lr", "0.003", "--posterior", "flow"]])
def test_the_note_names_exactly_the_flags_of_the_json(flags):
    """The line is made from the report's entry, not from the constant: other flags in the JSON are named as
    they are, in their order, and the folded line before it names none."""
    entry = {**folded_posterior(FOLDED), "remedy_flags": flags}
    lines = FoldingSection().lines({"folded_posterior": entry, "objective": "beta", "beta": 1.0})
    assert len(lines) == 2 and fragment(lines[0]) is None
    assert fragment(lines[1]) == flags
    no_flags = FoldingSection().lines({"folded_posterior": {**entry, "remedy_flags": []}, "objective": "beta",
                                       "beta": 1.0})
    assert fragment(no_flags[1]) is None and "a fold" in no_flags[1]


def test_the_flags_parse_with_the_training_parser_and_change_the_defaults():
    """Each flag is the training parser's, given once with its value (read back as the word given), the whole
    passes the checks a training makes before loading data, and it trains something other than the defaults."""
    parser = build_parser()
    args = parser.parse_args(list(REMEDY_FLAGS))
    validate_flags(args)
    assert given_flags(parser, list(REMEDY_FLAGS)) == set(REMEDY_SETTINGS)
    assert all(getattr(args, name) == value for name, value in REMEDY_SETTINGS.items())
    assert any(getattr(args, name) != FLAG_DEFAULTS[name] for name in REMEDY_SETTINGS)
