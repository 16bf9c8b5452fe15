"""The truth JSON parsed once into a Truth: the shipped file as it is, every family's file, older files
without the later terms, and the key that is missing or of the wrong shape named."""
import json
import os

import numpy as np
import pytest

from betavae.commands import generate as generate_command
from betavae.data import families
from betavae.data.loading import file_digest, load_truth
from betavae.data.truth import Truth, write_truth
from conftest import REPO


def test_the_shipped_truth_is_a_linear_truth_whose_g_is_mean_plus_w_z():
    with open(os.path.join(REPO, "data", "gaussian_10d.truth.json"), encoding="utf-8") as handle:
        raw = json.load(handle)
    truth = Truth.from_json(raw, 10)
    assert truth.linear and truth.latent_dim == 2 and truth.B.shape == (10, 0) and truth.Omega.shape == (0, 2)
    z = np.array([[0.5, -1.0], [2.0, 0.0]])
    np.testing.assert_allclose(families.decoder_mean(z, truth), np.array(raw["mean"]) + z @ np.array(raw["W"]).T)
    np.testing.assert_array_equal(truth.prior_means, [[0.0, 0.0]])
    assert truth.data_sha256 == file_digest(os.path.join(REPO, "data", "gaussian_10d.npy"))


def test_the_shipped_data_its_truth_and_its_latents_are_what_the_recorded_command_writes(tmp_path, monkeypatch):
    """The quick start's evaluation scores disentanglement against the shipped latents: they, the data and the
    truth must be exactly what the command recorded in the truth writes (run here in a copy of the layout)."""
    with open(os.path.join(REPO, "data", "gaussian_10d.truth.json"), encoding="utf-8") as handle:
        command = json.load(handle)["command"].split()
    assert command[:3] == ["python", "data_processing.py", "generate"]
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    assert generate_command.main(command[2:]) == 0
    for name in ("gaussian_10d.npy", "gaussian_10d.latents.npy"):
        assert file_digest(str(tmp_path / "data" / name)) == file_digest(os.path.join(REPO, "data", name)), name
    # The truth's matrices come out of a BLAS, whose last bits vary with the CPU's kernels (seen: 3e-14
    # relative); every key and every other value must be the same.
    written, shipped = (json.loads(open(os.path.join(folder, "data", "gaussian_10d.truth.json"),
                                        encoding="utf-8").read()) for folder in (str(tmp_path), REPO))
    assert sorted(written) == sorted(shipped)
    for key, value in shipped.items():
        if isinstance(value, list):
            np.testing.assert_allclose(written[key], value, rtol=1e-12, atol=1e-14, err_msg=key)
        else:
            assert written[key] == value, key
    latents = np.load(os.path.join(REPO, "data", "gaussian_10d.latents.npy"))
    assert latents.shape == (100_000, 2) and abs(latents.std() - 1) < 0.01  # z ~ N(0, I), one row per data row


def test_generate_records_the_sha_of_the_data_file_it_wrote(tmp_path):
    for name in ("g.npy", "h.csv"):
        output = tmp_path / name
        assert generate_command.main(["generate", "--dim", "3", "--factors", "1", "--rows", "50",
                                      "--output", str(output)]) == 0
        assert load_truth(str(output)).data_sha256 == file_digest(str(output))


@pytest.mark.parametrize("family", families.NONLINEAR_FAMILIES)
def test_every_family_reads_back_from_its_json_text(family):
    _, latents, raw = families.sample_family(family, dim=4, factors=2, rows=6, seed=3)
    truth = Truth.from_json(json.loads(json.dumps(raw)), 4)  # empty matrices come back from JSON as []
    assert truth.family == family and not truth.linear and truth.W is None
    for name in ("A", "B", "Omega", "C", "H", "Gamma", "R", "Rho", "prior_means", "covariance"):
        np.testing.assert_array_equal(getattr(truth, name), np.asarray(raw[name]).reshape(getattr(truth, name).shape))
    assert truth.Omega.shape[1] == truth.Gamma.shape[1] == truth.Rho.shape[1] == 2


def test_a_file_without_the_later_terms_has_none():
    _, latents, raw = families.sample_family("sine", dim=4, factors=2, rows=6, seed=3)
    older = {key: value for key, value in raw.items() if key not in ("H", "Gamma", "R", "Rho", "rho")}
    np.testing.assert_allclose(families.decoder_mean(latents, Truth.from_json(older)),
                               families.decoder_mean(latents, Truth.from_json(raw)))
    assert Truth.from_json(older).R.shape == (4, 0)


@pytest.mark.parametrize("change, fragment", [
    ({"A": np.ones((4, 1)).tolist()}, "Omega has shape [4, 2], expected [m, 1]"),  # A fixes the latent size
    ({"B": np.ones((4, 3)).tolist()}, "B has shape [4, 3], expected [4, 4]"),  # one wave per row of Omega
    ({"phi": [0.0]}, "phi has shape [1], expected [4]"),
    ({"C": np.ones((4, 2)).tolist()}, "C has 2 columns, expected 0 or 3"),
    ({"prior_weights": [0.5]}, "prior_weights sum to 0.5"),
    ({"psi": [1.0, 1.0, 0.0, 1.0]}, "psi holds a value that is not positive"),
    ({"offset": [1.0, float("nan"), 0.0, 0.0]}, "offset holds a value that is not finite"),
    ({"family": "spiral"}, "family 'spiral' is none of linear, sine"),
    ({"data_sha256": "ff150c49"}, "data_sha256 'ff150c49' is not a SHA-256"),
    ({"A": None}, "A has shape []"),
    ({"A": np.ones((4, 3)).tolist(), "Omega": np.ones((4, 3)).tolist(), "Gamma": [], "Rho": [],
      "prior_means": [[0.0] * 3]}, "A has 3 columns; a non-linear family's latent has 1 or 2"),
])
def test_a_key_of_the_wrong_shape_or_value_is_named(change, fragment):
    _, _, raw = families.sample_family("sine", dim=4, factors=2, rows=6, seed=3)
    with pytest.raises(ValueError) as error:
        Truth.from_json({**raw, **change}, 4)
    assert fragment in str(error.value), str(error.value)


def test_write_truth_writes_what_load_truth_reads_and_nothing_the_parser_would_refuse(tmp_path):
    mean, weights, psi = np.array([1.0, -2.0, 0.5]), np.array([[0.5], [-1.5], [2.0]]), np.array([0.1, 0.2, 0.3])
    truth = {"family": "linear", "mean": mean, "covariance": weights @ weights.T + np.diag(psi), "W": weights,
             "psi": psi.tolist(), "seed": np.int64(4), "command": "by hand"}
    path = tmp_path / "d.truth.json"
    write_truth(str(path), truth, dim=3)
    read = load_truth(str(tmp_path / "d.npy"), 3)
    np.testing.assert_array_equal(read.W, weights)
    np.testing.assert_array_equal(read.covariance, [[0.35, -0.75, 1.0], [-0.75, 2.45, -3.0], [1.0, -3.0, 4.3]])
    assert json.loads(path.read_text())["seed"] == 4 and json.loads(path.read_text())["command"] == "by hand"
    for broken, message in (({**truth, "psi": psi[:2]}, "psi has shape"), ({**truth, "W": None}, "W")):
        with pytest.raises(ValueError, match=message):
            write_truth(str(tmp_path / "e.truth.json"), broken, dim=3)
        assert not (tmp_path / "e.truth.json").exists()
    with pytest.raises(ValueError, match="shape"):
        write_truth(str(tmp_path / "e.truth.json"), truth, dim=4)  # written for data of another width
