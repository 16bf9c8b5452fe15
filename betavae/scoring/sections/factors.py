"""The model against the data's factors and truth: how its decoder directions line up (alignment), the
disentanglement metrics of its codes, and the notes on what the references and the truth say."""
import numpy as np

from betavae.scoring.disentanglement_report import disentanglement_entry, disentanglement_lines
from betavae.scoring.references import ACTIVE_THRESHOLD
from betavae.scoring.sections.base import Section, numbers
from betavae.scoring.truth import LINEAR_LABEL, truth_entries

# The disentanglement metrics of the evaluation (betavae.scoring.disentanglement), one sweep.csv column each.
DISENTANGLEMENT = ("mig", "sap", "modularity", "dci_disentanglement", "dci_completeness", "dci_informativeness",
                   "factor_vae")
# The alignment's mean scores, as sweep.csv and the sweep's plot label them.
ALIGNMENTS = {"mean_to_optimum": "to the linear optimum's latent space", "mean_to_truth": "to the true factors"}


class AlignmentSection(Section):
    name = "alignment"
    detail = "decoder directions against the linear optimum's and the true loadings"
    keys = {"alignment": "how the active latent units line up with known factors: see \"Alignment with the "
                         "truth\""}

    def compute(self, context):
        from betavae.scoring.alignment import alignment, decoder_directions
        scores, truth = context.scores(), context.truth
        active = np.asarray(scores["report"]["kl_per_dim"]) > ACTIVE_THRESHOLD
        optimum = (context.reference().get("linear_beta_optimum") or {}).get("W")
        codes = scores["code_means"]
        return {"alignment": alignment(decoder_directions(context.model(), codes), active, context.config.data_scale,
                                       optimum, None if truth is None else truth.W, codes, context.latents())}

    def lines(self, report):
        alignment = report["alignment"]
        correlation = alignment["latent_correlation"]
        return ["alignment, |cosine| of the active units' decoder directions (1 = aligned): to the "
                f"{LINEAR_LABEL} {numbers(alignment['per_unit_to_optimum'], '.3f') or 'n/a'}; to the true "
                f"loadings {numbers(alignment['per_unit_to_truth'], '.3f') or 'n/a'}; latent_correlation "
                f"with the true z {'n/a' if correlation is None else format(correlation, '.3f')}"]

    def columns(self, report):
        alignment = report.get("alignment") or {}
        return {"latent_correlation": alignment.get("latent_correlation"),
                **{f"alignment_{key}": alignment.get(key) for key in ALIGNMENTS}}


class DisentanglementSection(Section):
    name = "disentanglement"
    detail = "metrics of E_q[z] against the true factors"
    keys = {"disentanglement": "the metrics of the encoder means against the true factors of generated rows, "
                               "with the exact MIG of a linear-Gaussian truth (null without true factors): see "
                               "\"Disentanglement metrics\""}

    def compute(self, context):
        latents = context.latents()
        if latents is None:
            context.unavailable.setdefault("disentanglement", "no true factors of these rows: the data were not "
                                                              "generated with latents, or other rows were given")
            return {"disentanglement": None}
        from betavae.model.inference import posterior_parameters
        model = context.model()
        return {"disentanglement": disentanglement_entry(
            context.test, context.scores()["code_means"], latents, context.truth, context.seed,
            context.slow_metrics, lambda x: posterior_parameters(model, x)[0])}

    def lines(self, report):
        return disentanglement_lines(report.get("disentanglement"))

    def columns(self, report):
        metrics = report.get("disentanglement") or {}
        exact = metrics.get("exact") or {}
        return {**{name: metrics.get(name) for name in DISENTANGLEMENT},
                "mig_exact_continuous": exact.get("mig_continuous"),
                "mig_exact_discretised": exact.get("mig_discretised")}


class TruthSection(Section):
    name = "truth"
    keys = {
        "gap_to_truth": "the model's -log p(x) (the prior grid's for a latent of 1 or 2 dimensions, else IWAE) "
                        "minus `reference.true_nll`",
        "objective_has_optimum": "false below beta = 1, where the objective has no finite optimum",
        "non_gaussian": "true when the model or the truth beats the full-covariance Gaussian fitted to the "
                        "training rows by more than 3 standard errors of the per-row difference plus that "
                        "Gaussian's own estimation error ((D + D(D+1)/2) / 2n nats for n training rows); a "
                        "linear truth (Gaussian data) is never called non-Gaussian",
        "notes": "the report's notes: the linear references are the best linear-Gaussian model and the collapse "
                 "beta is that family's; below beta = 1 no finite optimum; whether the data are measurably "
                 "non-Gaussian, by how much, and whether this model is below or above the Gaussian",
    }
    optional = ("gap_to_truth",)

    def compute(self, context):
        return truth_entries(context.config, context.train, context.test, context.reference(),
                             context.model_log_p(), context.truth, context.true_log_p())

    def lines(self, report):
        return [f"note: {note}" for note in report["notes"]]
