"""The evaluation's disentanglement entry: the metrics of the codes against the true factors, the exact MIG
of a linear-Gaussian truth beside the binned one, the slow metrics behind their flag, and its report lines."""
import os

import numpy as np
import pytest

from betavae.data.families import sample_family
from betavae.data.loading import load_truth
from betavae.data.truth import Truth
from betavae.scoring.disentanglement_report import SLOW_FLAG, disentanglement_entry, disentanglement_lines
from conftest import REPO


@pytest.fixture(scope="module")
def generated():
    """Rows of the shipped data's truth with their factors, and the exact posterior means as codes."""
    truth = load_truth(os.path.join(REPO, "data", "gaussian_10d.npy"))
    rng = np.random.default_rng(4)
    factors = rng.standard_normal((4000, 2))
    weights, psi, mean = truth.W, truth.psi, truth.mean
    x = mean + factors @ weights.T + rng.standard_normal((4000, 10)) * np.sqrt(psi)
    posterior = np.linalg.solve(np.eye(2) + weights.T @ (weights / psi[:, None]), (weights / psi[:, None]).T)
    return truth, x, (x - mean) @ posterior.T, factors


def test_the_entry_gives_the_fast_metrics_and_the_exact_mig_and_names_the_slow_flag(generated):
    truth, x, codes, factors = generated
    entry = disentanglement_entry(x, codes, factors, truth, seed=0, slow=False, encode=None)
    assert entry["n_rows"] == 4000 and 0 < entry["mig"] < 1 and entry["dci_disentanglement"] is None
    assert SLOW_FLAG in entry["unavailable"]["dci_disentanglement"] and SLOW_FLAG in entry["unavailable"]["factor_vae"]
    exact = entry["exact"]
    assert min(exact["code_r2"]) > 0.999  # these codes are linear in x
    # the binned estimate sits near the MIG of the discretised pair, below the continuous one
    assert entry["mig"] == pytest.approx(exact["mig_discretised"], abs=0.03)
    assert exact["mig_discretised"] < exact["mig_continuous"]
    text = "\n".join(disentanglement_lines(entry))
    assert "estimates over 4000 rows" in text and f"MIG {entry['mig']:.3f} [" in text and "DCI disentanglement n/a" in text
    assert f"{exact['mig_continuous']:.3f} from the continuous MI" in text


def test_a_mixture_truth_has_no_exact_mig_and_no_factor_vae_batches(generated):
    _, _, codes, factors = generated
    truth = Truth.from_json(sample_family("mixture", dim=3, factors=2, rows=4, seed=0)[2])
    entry = disentanglement_entry(None, codes, factors, truth, seed=0, slow=False, encode=None)
    assert entry["exact"] is None and "linear-Gaussian" in entry["unavailable"]["exact"]
    assert disentanglement_lines(None) == []


def test_slow_metrics_add_dci_and_the_factor_vae_score(generated):
    truth, x, codes, factors = generated
    posterior = np.linalg.lstsq(x - x.mean(axis=0), codes, rcond=None)[0]
    entry = disentanglement_entry(x[:1000], codes[:1000], factors[:1000], truth, seed=0, slow=True,
                                  encode=lambda rows: (rows - truth.mean) @ posterior)
    assert entry["dci_informativeness"] is not None and 0.5 < entry["factor_vae"] <= 1.0
