"""The gap to the truth, nat by nat: on decoders built by hand, whose gaps are known in closed form, the
approximation gap of a diagonal Gaussian is 1/2 (sum log diag P - log det P) on a linear-Gaussian decoder and
log 2 on two equal modes, and the parts sum to an -ELBO and a true -log p(x) computed here independently."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from betavae.data import families
from betavae.data.truth import Truth, write_truth
from betavae.model.vae import BetaVAE
from betavae.run.opened import open_run
from betavae.scoring import posterior_fit
from betavae.scoring.sections.context import EvaluationContext
from betavae.scoring.sections.gap import GapDecompositionSection, decomposition, gap_rows, truth_elbo
from conftest import committed_run
from test_evaluation import raw_for_log_scale, set_linear_mlp
from test_grid_likelihood import SCALE, SLOPE, folded_model

# A linear-Gaussian decoder x = shift + W z + noise: 4-D data, 2-D latent, in standardised units (the model
# scales them by `SCALES`): columns of unequal norms and entries of both signs, so that W' W is not diagonal.
PROJECTION = np.array([[1.2, -0.5, 0.8, -1.5], [0.3, 0.9, -0.6, 0.4]])
SHIFT, SCALES = np.array([1.0, -2.0, 0.5, 3.0]), np.array([2.0, 1.0, 0.5, 1.5])
DECODER_LOG_SCALE = -0.7  # of the noise, in standardised units


def linear_model(gain, encoder_log_scale):
    """A BetaVAE that is exactly x = SHIFT + W z + N(0, diag noise) with W = SCALES * PROJECTION', its encoder
    q(z|x) = N(gain' (x - SHIFT) / SCALES, diag exp(encoder_log_scale)^2); returns (model, W, noise)."""
    tf.keras.utils.set_random_seed(0)
    latent_dim, data_dim = PROJECTION.shape
    model = BetaVAE(data_dim, latent_dim, 8, SHIFT, SCALES)
    set_linear_mlp(model.decoder, PROJECTION, np.full(data_dim, raw_for_log_scale(DECODER_LOG_SCALE)))
    set_linear_mlp(model.encoder, gain, raw_for_log_scale(np.asarray(encoder_log_scale)))
    return model, SCALES[:, None] * PROJECTION.T, (SCALES * np.exp(DECODER_LOG_SCALE)) ** 2


def context_of(tmp_path, model, rows, truth=None, latent_dim=2):
    """An EvaluationContext of a run over `rows` (all of them its held-out rows' source) whose model is
    `model`, with the truth JSON `truth` (a dict) beside the data."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    np.save(tmp_path / "data.npy", rows.astype(np.float32))
    if truth is not None:
        write_truth(tmp_path / "data.truth.json", truth, rows.shape[1])
    run = committed_run(tmp_path / "run", tmp_path / "data.npy", flags=("--latent-dim", str(latent_dim)))
    context = EvaluationContext(open_run(run), iwae_samples=10, num_samples=10, seed=3, rows=None, rows_label="",
                                slow_metrics=False)
    context.model = lambda: model
    return context


def expected_log_likelihood(x, W, noise, mean, log_scale):
    """E_q log N(x; SHIFT + W z, diag noise) for q = N(mean, diag exp(log_scale)^2), per row, in closed form:
    the squared residual at the mean plus the variance q adds through W."""
    residual = x - SHIFT - mean @ W.T
    spread = np.exp(2 * log_scale) @ (W ** 2).T
    return -0.5 * np.sum((residual ** 2 + spread) / noise + np.log(2 * np.pi * noise), axis=1)


def kl_to_standard_normal(mean, log_scale):
    return 0.5 * np.sum(mean ** 2 + np.exp(2 * log_scale) - 1 - 2 * log_scale, axis=1)


def test_on_a_linear_gaussian_decoder_the_parts_are_their_closed_forms_and_sum_to_elbo_minus_truth(tmp_path):
    # an encoder off the best diagonal Gaussian: a gain of the wrong size and one scale for both units
    gain = 0.5 * np.array([[0.4, 0.1], [-0.2, 0.5], [0.3, -0.3], [-0.4, 0.2]])
    model, W, noise = linear_model(gain, np.full(2, -0.3))
    precision = np.eye(2) + W.T @ (W / noise[:, None])
    assert abs(precision[0, 1]) > 0.3 * np.sqrt(precision[0, 0] * precision[1, 1])  # far from diagonal
    assert np.any(W < 0) and not np.isclose(*np.linalg.norm(W, axis=0), rtol=0.1)
    # the truth: another linear-Gaussian model, so that the model is some way from it
    true_W = W + np.array([[0.3, -0.2], [0.0, 0.4], [-0.1, 0.1], [0.2, 0.0]])
    true_mean, true_psi = SHIFT + np.array([0.1, -0.1, 0.0, 0.2]), noise * 1.3
    true_cov = true_W @ true_W.T + np.diag(true_psi)
    rows = np.random.default_rng(4).multivariate_normal(true_mean, true_cov, size=3000)
    truth = {"mean": true_mean, "covariance": true_cov, "W": true_W, "psi": true_psi}
    context = context_of(tmp_path, model, rows, truth)
    entry = decomposition(context)

    x = context.test[gap_rows(len(context.test), context.seed)].astype(float)
    assert entry["rows"] == len(x) == 200 and entry["log_p"] == "grid"
    # what a diagonal Gaussian cannot represent of a Gaussian posterior of precision P, on every row
    shortfall = 0.5 * (np.log(precision[0, 0]) + np.log(precision[1, 1]) - np.log(np.linalg.det(precision)))
    assert shortfall > 0.05
    assert entry["approximation"]["mean"] == pytest.approx(shortfall, abs=2e-4)
    assert entry["approximation"]["stderr"] < 1e-4
    # the encoder's -ELBO and both -log p(x), each in closed form here
    mean = (x - SHIFT) / SCALES @ gain
    negative_elbo = -expected_log_likelihood(x, W, noise, mean, np.full_like(mean, -0.3)) + kl_to_standard_normal(
        mean, np.full_like(mean, -0.3))
    model_nll = -stats.multivariate_normal(SHIFT, W @ W.T + np.diag(noise)).logpdf(x)
    true_nll = -stats.multivariate_normal(true_mean, true_cov).logpdf(x)
    assert entry["elbo_to_truth"]["mean"] == pytest.approx(np.mean(negative_elbo - true_nll), abs=1e-4)
    assert entry["to_truth"]["mean"] == pytest.approx(np.mean(model_nll - true_nll), abs=2e-4)
    assert entry["amortization"]["mean"] == pytest.approx(np.mean(negative_elbo - model_nll) - shortfall, abs=2e-4)
    parts = sum(entry[name]["mean"] for name in ("to_truth", "approximation", "amortization"))
    assert parts == pytest.approx(np.mean(negative_elbo - true_nll), abs=1e-4)
    # the truth's own best diagonal Gaussian: the same closed form with the truth's precision
    true_precision = np.eye(2) + true_W.T @ (true_W / true_psi[:, None])
    true_shortfall = 0.5 * (np.sum(np.log(np.diag(true_precision))) - np.log(np.linalg.det(true_precision)))
    assert entry["truth_elbo"]["approximation"]["mean"] == pytest.approx(true_shortfall, abs=1e-9)
    assert entry["truth_elbo"]["mean"] == pytest.approx(np.mean(-true_nll) - true_shortfall, abs=1e-6)


def test_a_single_gaussian_on_two_equal_modes_misses_log_2_wherever_the_encoder_starts(tmp_path):
    # x = (2 |z|, -|z|) + noise: rows of |z| in [1.2, 2.5], whose posteriors have two modes far apart
    z = np.random.default_rng(5).uniform(1.2, 2.5, size=1000) * np.random.default_rng(6).choice([-1, 1], 1000)
    rows = np.stack([SLOPE * np.abs(z), -np.abs(z)], axis=1) + SCALE * np.random.default_rng(7).normal(size=(1000, 2))
    on_a_mode = folded_model(1)
    entry = decomposition(context_of(tmp_path / "mode", on_a_mode, rows, latent_dim=1))
    assert entry["approximation"]["mean"] == pytest.approx(np.log(2.0), abs=0.01)
    assert abs(entry["amortization"]["mean"]) < 0.01  # that encoder is the exact posterior of one mode
    assert entry["to_truth"] is None and entry["truth_elbo"] is None  # no truth beside these rows
    # an encoder that straddles both modes (mean 0, scale 1) has no slope towards either: the fit starts
    # from each row's grid mode too, and finds the same best member
    straddling = folded_model(1)
    set_linear_mlp(straddling.encoder, np.zeros((2, 1)), raw_for_log_scale(np.zeros(1)))
    straddled = decomposition(context_of(tmp_path / "straddle", straddling, rows, latent_dim=1))
    assert straddled["approximation"]["mean"] == pytest.approx(np.log(2.0), abs=0.01)
    assert straddled["amortization"]["mean"] > 5.0


def test_above_two_latent_dimensions_sobol_points_and_the_iwae_bound_find_the_closed_form(tmp_path):
    tf.keras.utils.set_random_seed(1)
    projection = np.array([[1.0, -0.6, 0.4, 0.2, 0.8], [0.8, -0.3, 0.6, 0.3, 0.5], [-0.2, 0.5, 0.6, 1.1, -0.4]])
    shift, scales = np.zeros(5), np.ones(5)
    model = BetaVAE(5, 3, 8, shift, scales)
    set_linear_mlp(model.decoder, projection, np.full(5, raw_for_log_scale(-0.5)))
    W, noise = projection.T, np.full(5, np.exp(-1.0))
    precision = np.eye(3) + W.T @ (W / noise[:, None])
    covariance = np.linalg.inv(precision)
    # the exact posterior's mean and marginal scales: the best proposal the IWAE can have of this family
    set_linear_mlp(model.encoder, (covariance @ (W / noise[:, None]).T).T,
                   raw_for_log_scale(0.5 * np.log(np.diag(covariance))))
    rows = np.random.default_rng(8).multivariate_normal(shift, W @ W.T + np.diag(noise), size=1000)
    entry = decomposition(context_of(tmp_path, model, rows, latent_dim=3))
    assert entry["log_p"] == "iwae" and "Sobol" in entry["quadrature"]["rule"]
    shortfall = 0.5 * (np.sum(np.log(np.diag(precision))) - np.log(np.linalg.det(precision)))
    assert shortfall > 0.05
    assert entry["approximation"]["mean"] == pytest.approx(shortfall, abs=0.01)
    assert entry["amortization"]["mean"] > 0.0  # marginal scales are wider than the best member's 1 / sqrt(P_jj)


def test_the_truths_best_member_by_fitting_is_the_closed_form_of_a_linear_truth_and_never_above_log_p():
    W = np.array([[1.5, -0.4], [-0.7, 0.9], [0.3, -1.2]])
    psi = np.array([0.3, 0.5, 0.2])
    raw = {"mean": [0.5, -1.0, 2.0], "covariance": W @ W.T + np.diag(psi), "W": W, "psi": psi}
    linear = Truth.from_json(raw)
    x = np.random.default_rng(9).multivariate_normal(linear.mean, linear.covariance, size=50)
    log_p = stats.multivariate_normal(linear.mean, linear.covariance).logpdf(x)
    closed, method = truth_elbo(linear, x, log_p, None, seed=0)
    assert "closed form" in method
    joint = lambda z: families.log_joint(x, z, linear)  # noqa: E731 (the linear truth as a family's map)
    start = (np.zeros((50, 2)), np.zeros((50, 2)))
    fitted = posterior_fit.best_diagonal_gaussians(joint, [start], posterior_fit.rule_for(2))
    np.testing.assert_allclose(fitted["elbo"], closed, atol=1e-6)
    # a non-linear truth is fitted from each row's grid mode: its ELBO stays below its log p(x)
    data, _, made = families.sample_family("sine", dim=6, factors=2, rows=40, seed=11)
    sine = Truth.from_json(made)
    sine_log_p = families.log_density(data.astype(float), sine)
    elbo, method = truth_elbo(sine, data, sine_log_p, {"mean": np.zeros((40, 1))}, seed=0)
    assert "grid mode" in method and np.all(elbo <= sine_log_p + 1e-6) and np.mean(sine_log_p - elbo) < 0.5


def test_the_report_line_says_rows_estimators_and_what_beta_does_to_amortization():
    part = {"mean": 0.5, "stderr": 0.01}
    entry = {"rows": 200, "log_p": "grid", "family": "diagonal_gaussian", "kept_start": 0,
             "quadrature": {"rule": "Gauss-Hermite 10x10 = 100 nodes"},
             "quadrature_check": {"rule": "Gauss-Hermite 20x20 = 400 nodes", "approximation": 1e-4,
                                  "amortization": 2e-4},
             **{name: part for name in ("to_truth", "approximation", "amortization", "elbo_to_truth")},
             "truth_elbo": {**part, "approximation": part, "method": "closed form"}}
    text = " ".join(GapDecompositionSection().lines({"beta": 4.0, "objective": "beta", "gap_decomposition": entry}))
    assert "200 rows" in text and "Gauss-Hermite 10x10 = 100 nodes" in text and "prior grid" in text
    assert "beta 4 weights the KL" in text and "beta = 1 ELBO" in text
    at_one = " ".join(GapDecompositionSection().lines({"beta": 1.0, "objective": "beta", "gap_decomposition": entry}))
    assert "note:" not in at_one and "-ELBO - true -log p(x) 0.5000 +- 0.0100 = to_truth" in at_one
    iwae = " ".join(GapDecompositionSection().lines({"beta": 1.0, "objective": "iwae", "gap_decomposition": entry}))
    assert "note:" in iwae and "proposal wider than the posterior" in iwae
    untrue = {**entry, "to_truth": None, "elbo_to_truth": None, "truth_elbo": None}
    alone = GapDecompositionSection().lines({"beta": 1.0, "objective": "beta", "gap_decomposition": untrue})
    assert len(alone) == 2 and "(no truth): approximation 0.5000 +- 0.0100 + amortization" in alone[0]

