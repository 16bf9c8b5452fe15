"""The fast twin of test_export.py's slow comparison of the SavedModel's samples with `--mode prior`: with the
sampling chunk made 16 rows, 37 samples take three chunks (the last one partial), and the export's sample
(inference.prior_tensor, a graph loop) must give the rows of the CLI's chunks (inference.prior_chunks, a
Python loop). A second chunk that repeats the first one's noise, or a last chunk not cut to the rows asked
for, shows here without the slow tests.

The chunks are traced without XLA here, as in most of the suite (conftest): what is compared is the chunking
around the chunk, not its compilation (test_xla.py compares the XLA-compiled export with the CLI)."""
import numpy as np
import pytest

from betavae.serving import servable
from betavae.model import inference
from betavae.run.folder import build_model
from conftest import factor_data_array, run_config_for

CHUNK, COUNT, SEED = 16, 37, 5  # 37 = 16 + 16 + 5


@pytest.fixture(scope="module")
def model_and_config(tmp_path_factory):
    """An untrained model (4-D data, latent 2) and its RunConfig."""
    folder = tmp_path_factory.mktemp("chunks")
    np.save(folder / "data.npy", factor_data_array(200))
    config = run_config_for(folder / "run", folder / "data.npy", "--latent-dim", "2")
    return build_model(config), config


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(inference, "SAMPLING_CHUNK", CHUNK)


@pytest.mark.parametrize("mean_only", [False, True], ids=["sample", "sample_means"])
def test_every_chunk_of_the_exported_samples_equals_the_cli_prior(model_and_config, small_chunks, mean_only):
    model, config = model_and_config
    exported = servable(model, config)
    served = (exported.sample_means if mean_only else exported.sample)(COUNT, SEED).numpy()
    chunks = list(inference.prior_chunks(model, COUNT, SEED, mean_only))  # what --mode prior writes
    assert [len(chunk) for chunk in chunks] == [CHUNK, CHUNK, COUNT - 2 * CHUNK]
    np.testing.assert_array_equal(served, np.concatenate(chunks))
    if not mean_only:  # each chunk draws its own noise
        assert not np.allclose(chunks[0][:5], chunks[1][:5]) and not np.allclose(chunks[1][:5], chunks[2])
