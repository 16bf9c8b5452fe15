"""The folded-posterior diagnosis: the share of rows whose log p(x) (the grid's, else IWAE) exceeds their ELBO
by more than a threshold."""
import numpy as np

from betavae.model.inference import score_rows
from betavae.scoring.folding import FOLDED_GAP, folded_posterior, folding_lines
from test_evaluation import linear_gaussian_model


def test_share_counts_the_rows_whose_gap_exceeds_the_threshold():
    gaps = np.array([0.0, 0.5, 0.99, 1.01, 3.0])
    kl = np.full(5, 0.5)  # the ELBO is E_q log p(x|z) minus the row's KL
    log_likelihood = np.full(5, -10.0)
    rows = {"iwae": log_likelihood - 0.5 + gaps, "log_likelihood": log_likelihood, "kl": kl,
            "kl_per_dim": np.array([[0.2, 0.2]] * 5)}  # a sum of marginal KLs below the KL (a mixture's) is not read
    entry = folded_posterior(rows)
    assert entry["share_of_rows"] == 0.4 and entry["rows"] == 5 and entry["threshold"] == FOLDED_GAP == 1.0
    assert np.isclose(entry["median_gap"], 0.99) and np.isclose(entry["worst_gap"], 3.0)
    assert folded_posterior(rows, threshold=0.4)["share_of_rows"] == 0.8
    lines = folding_lines(entry)
    assert len(lines) == 2 and "40.00% of 5 rows have IWAE - ELBO" in lines[0] and entry["log_p"] == "iwae"
    assert "a decoder started at the truth" in lines[1] and "train with" not in lines[1]  # no remedy_flags in entry
    by_grid = folded_posterior({**rows, "grid": rows["iwae"] + 1.0})  # the exact log p(x) sees more than IWAE
    assert by_grid["log_p"] == "grid" and by_grid["share_of_rows"] == 0.8
    assert "rows have log p(x) - ELBO" in folding_lines(by_grid)[0]
    iwae_run = folding_lines(entry, "iwae")  # a run that trained IWAE: its wide q is no sign of a fold
    assert len(iwae_run) == 2 and "does not say that the decoder folded" in iwae_run[1]
    assert "train with" not in " ".join(iwae_run)
    assert len(folding_lines(folded_posterior({**rows, "iwae": log_likelihood - 0.5}))) == 1  # share 0: no advice
    assert folding_lines(None) == []


def test_an_exact_encoder_is_not_flagged_and_an_encoder_off_the_posterior_is():
    model, mean, covariance = linear_gaussian_model()
    x = np.random.default_rng(3).multivariate_normal(mean, covariance, size=300).astype(np.float32)
    assert folded_posterior(score_rows(model, x, 100, seed=0))["share_of_rows"] == 0.0
    head = model.encoder.head
    bias = head.bias.numpy()
    bias[:model.latent_dim] += 1.0  # q(z|x) one unit of z off the posterior, whose scales are ~0.1-0.3
    head.bias.assign(bias)
    assert folded_posterior(score_rows(model, x, 100, seed=0))["share_of_rows"] > 0.9


def test_above_beta_1_the_line_reports_the_gap_as_expected_not_as_folded_rows():
    """The same 40% of rows over the threshold: at beta 4 (the beta objective) the line says the gap is what a
    KL weight above 1 asks for, with no fold named; at beta 1 and 0.5 it is the folded-posterior line and its
    advice."""
    from betavae.scoring.sections.likelihood import FoldingSection
    log_likelihood = np.full(5, -10.0)
    entry = folded_posterior({"iwae": log_likelihood + np.array([0.0, 0.5, 0.9, 1.5, 3.0]),
                              "log_likelihood": log_likelihood, "kl": np.zeros(5)})
    lines = FoldingSection().lines({"folded_posterior": entry, "objective": "beta", "beta": 4.0})
    assert lines == ["posterior gap at beta 4: 40.00% of 5 rows have IWAE - ELBO > 1 nats (median 0.900, worst "
                     "3.000): expected of beta > 1, whose KL weight pulls q(z|x) off the posterior towards the "
                     "prior by design; not a sign that the decoder folded"]
    for beta in (1.0, 0.5):
        lines = FoldingSection().lines({"folded_posterior": entry, "objective": "beta", "beta": beta})
        assert lines[0].startswith("folded posterior: 40.00% of 5 rows") and "a fold" in lines[1], beta
