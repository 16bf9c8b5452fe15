"""The report's first section: which run, checkpoint, objective and rows were scored, with which options."""
import os

from betavae.data import loading
from betavae.data.run_rows import training_rows_words
from betavae.objectives import OBJECTIVES, objective_of
from betavae.scoring.sections.base import HELD_OUT_ROWS, Section


def checkpoint_identity(folder, epoch=None):
    """The checkpoint an evaluation scores (the one of `epoch`, default the newest readable) of the RunFolder:
    its file name, epoch and the SHA-256 of its index file (which holds a checksum of every tensor), or None.
    The sweep reuses an evaluation.json whose "checkpoint" equals the run's current one."""
    chosen = folder.newest_checkpoint() if epoch is None else next(
        (item for item in folder.checkpoints() if item[0] == epoch), None)
    if chosen is None:
        return None
    number, prefix = chosen
    return {"file": os.path.basename(prefix), "epoch": number, "index_sha256": loading.file_digest(prefix + ".index")}


class RunSection(Section):
    name = "model"
    detail = "TensorFlow (imported once per process) and the checkpoint"
    keys = {
        "beta": "the run's beta",
        "objective": "the objective it trained: `beta`, `capacity` (gamma \\|KL - C\\| - E_q log p(x\\|z), with "
                     "its `gamma` and final C as `capacity`), `tc` (with its `alpha` and `gamma`) or `iwae` (with "
                     "its K as `training_samples`); for a capacity or tc run the beta-objective and the linear "
                     "optimum at its beta are printed as a comparison, not as its target",
        "capacity": "the capacity objective's final C (nats)",
        "gamma": "the capacity or tc objective's gamma",
        "alpha": "the tc objective's alpha",
        "training_samples": "the iwae objective's K",
        "latent_dim": "the latent dimension",
        "rows": "which rows were scored: `held-out test rows`, or `rows of FILE` for a `--rows` file (`given "
                "rows` for rows given to the Python API)",
        "test_rows": "how many rows were scored",
        "trained_rows": "how many of the scored rows are training rows (equal in every column to one): 0 for "
                        "held-out test rows, unless a `--test-data` file shares rows with the training data or "
                        "the data hold a row twice",
        "iwae_samples": "importance samples per row of the IWAE estimate",
        "num_samples": "prior samples compared with the rows",
        "seed": "the seed of every random draw of the evaluation",
        "checkpoint": "the checkpoint scored: file, epoch and the SHA-256 of its index file; the sweep reuses "
                      "an evaluation whose checkpoint is still the run's newest",
    }
    optional = ("capacity", "gamma", "alpha", "training_samples")

    def compute(self, context):
        config = context.config
        objective = objective_of(config)
        context.model()
        return {"beta": config.beta, "objective": objective.name, **objective.weights(config), "latent_dim": config.latent_dim,
                "test_rows": len(context.test), "rows": context.rows_label, "trained_rows": context.trained_rows, "iwae_samples": context.iwae_samples,
                "num_samples": context.num_samples, "seed": context.seed,
                "checkpoint": checkpoint_identity(context.folder, context.folder.restored_epoch)}

    @staticmethod
    def header(report, checkpoint_dir):
        """The report's first line: the run folder (as the user named it), checkpoint, objective and rows."""
        checkpoint = (report.get("checkpoint") or {}).get("file", "no checkpoint")
        count = report.get("trained_rows")
        said = count is not None and (count > 0 or report.get("rows") != HELD_OUT_ROWS)
        among = f" ({training_rows_words(count, report['test_rows'])})" if said else ""
        trained = OBJECTIVES[report["objective"]].title(report)
        return (f"evaluation of {checkpoint_dir} ({checkpoint}): {trained}, latent dim {report['latent_dim']}; "
                f"{report['rows']}: {report['test_rows']}{among}")

    def lines(self, report):
        return ["in nats per sample, summed over data dimensions:"]

    def columns(self, report):
        return {"beta": report["beta"], "objective": report.get("objective")}
