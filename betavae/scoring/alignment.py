"""How the learned latent axes line up with known factors: decoder directions against loadings, and the
encoder's means against the true latent coordinates (see docs/evaluation.md, "Alignment with the truth").

Directions and loadings are compared in standardised data units (each column divided by the data's
standard deviation, as the model sees the data), so no one coordinate dominates by its units.
"""
import numpy as np

JACOBIAN_ROWS = 2000  # latent points over which the decoder's Jacobian is averaged


def decoder_directions(model, code_means):
    """The mean Jacobian d E[x|z] / dz of the decoder over the encoder means of the rows, [D, latent_dim], in
    the data's units: column j is the direction in which unit j moves the data."""
    from betavae.model.inference import latent_jacobians
    z = np.asarray(code_means[:JACOBIAN_ROWS], np.float32)
    return latent_jacobians(lambda rows: [model.likelihood(rows).mean()], z)[1][0].mean(axis=0)


def direction_alignment(directions, loadings):
    """For each column of directions [D, d], the |cosine| with the best-matching column of loadings [D, k]."""
    directions = np.asarray(directions, dtype=float)
    loadings = np.asarray(loadings, dtype=float)
    unit = directions / np.maximum(np.linalg.norm(directions, axis=0), 1e-300)
    reference = loadings / np.maximum(np.linalg.norm(loadings, axis=0), 1e-300)
    return np.max(np.abs(unit.T @ reference), axis=1)


def latent_correlation(code_means, latents):
    """Mean over the true factors of the largest |Pearson correlation| between the factor and any given unit's
    encoder mean E_q[z_j]: 1 when each factor is read off one unit up to scale and sign."""
    means = np.asarray(code_means, dtype=float)
    truth = np.asarray(latents, dtype=float)
    means = (means - means.mean(axis=0)) / np.maximum(means.std(axis=0), 1e-300)
    truth = (truth - truth.mean(axis=0)) / np.maximum(truth.std(axis=0), 1e-300)
    correlation = truth.T @ means / len(means)  # [factors, units]
    return float(np.mean(np.max(np.abs(correlation), axis=1)))


def alignment(directions, active, data_scale, optimum_loadings=None, true_loadings=None, code_means=None,
              latents=None):
    """The report's "alignment" entry: per active unit (a boolean mask over the latent units) the |cosine| of
    its decoder direction to the linear optimum's and the true loadings, their means (None when there is
    nothing to compare), and latent_correlation against the true latents of the rows."""
    active = np.asarray(active, dtype=bool)
    scale = np.asarray(data_scale, dtype=float)[:, None]
    result = {}
    for name, loadings in (("optimum", optimum_loadings), ("truth", true_loadings)):
        scores = ([] if loadings is None or not active.any() else
                  direction_alignment(directions[:, active] / scale, np.asarray(loadings) / scale).tolist())
        result[f"per_unit_to_{name}"] = scores
        result[f"mean_to_{name}"] = float(np.mean(scores)) if scores else None
    result["latent_correlation"] = (latent_correlation(np.asarray(code_means)[:, active], latents)
                                    if latents is not None and active.any() else None)
    return result
