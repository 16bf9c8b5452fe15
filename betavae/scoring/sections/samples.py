"""What the model generates: prior samples against the rows (and the truth), and reconstructions at the
encoder means."""
from betavae.config import default_names
from betavae.data import loading
from betavae.files import StreamMoments
from betavae.scoring.sections.base import HELD_OUT_ROWS, Section, number, numbers, percent
from betavae.words import counted


def scored_rows(report):
    """What the report's rows are called in a line: `test rows` for the held-out ones, else their label (`rows
    of FILE`, `given rows`)."""
    return "test rows" if report.get("rows", HELD_OUT_ROWS) == HELD_OUT_ROWS else report["rows"]


def prior_sample_scores(model, num_samples, seed, test, truth, unavailable):
    """How far num_samples prior samples' mean and covariance are from the test rows' (and the truth's)."""
    from betavae.scoring.references import moment_errors_of
    from betavae.model.inference import prior_chunks
    moments = StreamMoments()  # streamed, so memory stays bounded for any num_samples
    for chunk in prior_chunks(model, num_samples, seed):  # the samples --mode prior writes for this seed
        moments.add(chunk)
    samples = moments.mean_cov()
    result = {}
    if len(test) < 2:
        result.update(mean_error=None, cov_error=None, frechet=None)
        unavailable["prior_samples"] = "a single test row has no covariance to compare with"
    else:
        result.update(moment_errors_of(*samples, *loading.moments(test)))
    if truth is not None:
        result["truth"] = moment_errors_of(*samples, truth.mean, truth.covariance)
    return result


class PriorSamplesSection(Section):
    name = "prior samples"
    keys = {"prior_samples": "mean error (L2), relative covariance error (Frobenius) and Frechet distance of "
                             "`--num-samples` prior draws against the rows, and against the truth"}

    def stage(self, context):
        return self.name, counted(context.num_samples, "draw")

    def compute(self, context):
        return {"prior_samples": prior_sample_scores(context.model(), context.num_samples, context.seed,
                                                     context.test, context.truth, context.unavailable)}

    def lines(self, report):
        prior, lines = report["prior_samples"], []
        if prior.get("frechet") is not None:
            lines.append(f"{counted(report['num_samples'], 'prior sample')} vs {scored_rows(report)}: mean error "
                         f"{number(prior['mean_error'])} (L2, data units), covariance error "
                         f"{percent(prior['cov_error'])} (relative Frobenius), Frechet distance "
                         f"{number(prior['frechet'])} (squared data units)")
        if "truth" in prior:
            truth = prior["truth"]
            lines.append(f"prior samples vs truth: mean error {number(truth['mean_error'])}, covariance "
                         f"error {percent(truth['cov_error'])}, Frechet distance {number(truth['frechet'])}")
        return lines


def per_column(recon):
    """The explained variance of each data column: `x1..xD: v1 v2 ...` for unnamed columns (and reports
    older than recorded names), `name v, ...` for the names of a header."""
    values, names = recon["explained_variance"], recon.get("columns")
    if names is None or list(names) == list(default_names(len(values))):
        return f"x1..x{len(values)}: {numbers(values, '.3f')}"
    return ", ".join(f"{name} {numbers([value], '.3f')}" for name, value in zip(names, values))


class ReconstructionSection(Section):
    name = "reconstruction"
    keys = {"recon": "mean squared error (per data dimension) and per-dimension explained variance of the "
                     "decoder mean at z = E_q[z], with the data's `columns`"}

    def compute(self, context):
        return {"recon": context.scores()["report"]["recon"]}

    def lines(self, report):
        recon = report["recon"]
        return [f"reconstruction at z = E_q[z]: MSE per data dim {number(recon['mse'])} (squared data units); "
                f"explained variance {per_column(recon)}"]
