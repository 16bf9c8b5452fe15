"""Say when a run is folded: the share of test rows whose posterior the encoder's Gaussian q(z|x) misses.

A decoder that folds the latent space onto the data (two regions of z mapping to nearly the same x) makes
p(z|x) multimodal; a Gaussian q(z|x) then covers one mode, or straddles two, and the per-row ELBO falls
well below log p(x). With the exact log p(x) of the grid over the prior (a latent of 1 or 2 dimensions,
inference.grid_log_likelihood), the per-row gap log p(x) - ELBO is KL(q(z|x) || p(z|x)): how many nats q
misses on that row. Without it (a larger latent) the gap is IWAE - ELBO, which sees only what q's own draws
reach. The ELBO is E_q log p(x|z) from the IWAE's draws minus the KL in closed form. Pure numpy.
For a folded run of the ELBO it names the training flags to try instead (remedy_flags).
"""
import shlex

import numpy as np

from betavae.cli import flag_name
from betavae.objectives import objective_of
from betavae.words import counted

# A row is folded when log p(x) exceeds its ELBO by more than this (nats). On a well-fitted linear run (the
# shipped data, 60 epochs) the gap is Monte-Carlo noise of the ELBO: 99.9% of 10,000 test rows below 0.35,
# the largest 0.62, none above 1.
FOLDED_GAP = 1.0
# Above this share of rows the report says what it means: 1% is well above the linear run's 0.
FOLDED_SHARE = 0.01
# The training flags the report suggests for a folded run of the beta objective at beta <= 1: of the
# configurations measured on generated periodic data (docs/folding.md, "Which flags to suggest"), the one of
# smallest median gap_to_truth whose training costs at most 3 times the default command's: its settings, and
# them as argv words.
REMEDY_SETTINGS = {"posterior": "flow"}
REMEDY_FLAGS = tuple(word for name, value in REMEDY_SETTINGS.items() for word in (flag_name(name), str(value)))
CRITERIA = {"grid": "log p(x) on the grid over the prior - ELBO per row > threshold (nats): KL(q(z|x) || p(z|x)), "
                    "the posterior mass q misses on that row",
            "iwae": "IWAE - ELBO per row > threshold (nats): q(z|x) misses posterior mass on that row, as far as "
                    "its own draws can see"}


def folded_posterior(row_scores, threshold=FOLDED_GAP):
    """The share of rows whose log p(x) exceeds their ELBO by more than `threshold` nats, from score_rows'
    per-row "log_likelihood" (E_q log p(x|z)) and "kl" (the row's KL), and log p(x) from "grid" (the exact one of
    model_scores) where there is one, else from "iwae"; for evaluation.json."""
    elbo = np.asarray(row_scores["log_likelihood"], float) - np.asarray(row_scores["kl"], float)
    estimate = "grid" if row_scores.get("grid") is not None else "iwae"
    gap = np.asarray(row_scores[estimate], float) - elbo
    return {"share_of_rows": float(np.mean(gap > threshold)), "threshold": threshold, "log_p": estimate,
            "criterion": CRITERIA[estimate], "rows": int(len(gap)), "median_gap": float(np.median(gap)),
            "worst_gap": float(np.max(gap))}


def remedy_flags(share, config):
    """REMEDY_FLAGS as a list for a folded run (share of rows above FOLDED_SHARE) of the beta objective at beta
    <= 1, whose ELBO the fold bends, unless its config already has every one of them; else []: above beta 1
    the gap is there by design, and an iwae run's q is a proposal, so neither is a fold to remedy."""
    if objective_of(config).name != "beta" or config.beta > 1 or share <= FOLDED_SHARE:
        return []
    if all(getattr(config, name) == value for name, value in REMEDY_SETTINGS.items()):
        return []
    return list(REMEDY_FLAGS)


def folding_lines(entry, objective="beta", beta=1.0):
    """The report's line on the folded posterior, and when the share is above FOLDED_SHARE one on what it
    means, or, for a run that trained the IWAE bound (objective "iwae"), why the share says nothing of a fold
    there (none for a report written before the diagnosis existed: entry None). A beta objective with beta
    above 1 weights the KL so that q(z|x) sits off the posterior, towards the prior, by design: its line
    reports the same share as that expected gap, not as folded rows."""
    if entry is None:
        return []
    share = entry["share_of_rows"]
    log_p = "log p(x)" if entry.get("log_p") == "grid" else "IWAE"
    shown = "n/a" if share is None else f"{100 * share:.2f}%"
    measured = (f"{shown} of {counted(entry['rows'], 'row')} have {log_p} - ELBO > {entry['threshold']:g} nats "
                f"(median {_nats(entry['median_gap'])}, worst {_nats(entry['worst_gap'])})")
    if objective == "beta" and beta > 1:
        return [f"posterior gap at beta {beta:g}: {measured}: expected of beta > 1, whose KL weight pulls q(z|x) "
                "off the posterior towards the prior by design; not a sign that the decoder folded"]
    lines = [f"folded posterior: {measured}: there q(z|x) misses posterior mass"]
    if objective == "iwae":
        lines.append("note: this run trained the IWAE bound, whose q(z|x) is a proposal wider than the posterior "
                     "by design, so the gap is large on many rows without any fold: the share above does not "
                     "say that the decoder folded")
    elif share is not None and share > FOLDED_SHARE:
        lines.append(f"note: above {100 * FOLDED_SHARE:g}% of rows the decoder likely maps two regions of z onto "
                     "nearly the same x (a fold, which the truth may have too); there the ELBO understates "
                     "log p(x) and bends the decoder towards posteriors a Gaussian q can follow: on generated "
                     "periodic data the ELBO moved a decoder started at the truth 0.08 nats away from it"
                     + _remedy_words(entry.get("remedy_flags")) + " (docs/folding.md)")
    return lines


def _remedy_words(flags):
    """The end of the note that names the suggested training flags as a command fragment ('' for none: a
    report written before they were suggested)."""
    return f"; train with `{shlex.join(flags)}` to narrow the gap" if flags else ""


def _nats(value):
    return "n/a" if value is None else f"{value:.3f}"
