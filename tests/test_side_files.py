"""A data file's truth and latents files are its record of the truth: no writer replaces them, --overwrite or
not, however the output is spelled; a name like theirs with no data file beside it is an ordinary output."""
import os

import numpy as np
import pytest

from betavae.cli import UsageError
from betavae.commands import generate as generate_command
from betavae.run.folder import RunFolder


def generate(output, *extra):
    """Run `generate` in-process on a small dataset; its exit code."""
    return generate_command.main(["generate", "--dim", "3", "--factors", "1", "--rows", "40", "--output",
                                  str(output), *extra])


@pytest.fixture
def dataset(tmp_path):
    """A generated dataset data/x.npy with its truth and latents, and the bytes of those side files."""
    folder = tmp_path / "data"
    folder.mkdir()
    assert generate(folder / "x.npy") == 0
    return folder, {name: (folder / name).read_bytes() for name in ("x.truth.json", "x.latents.npy")}


def unchanged(folder, before):
    return {name: (folder / name).read_bytes() for name in before} == before


@pytest.mark.parametrize("name, label", [("x.latents.npy", "true latents"), ("x.truth.json", "truth")])
def test_generate_refuses_a_side_file_as_its_output_even_with_overwrite(dataset, capsys, name, label):
    folder, before = dataset
    capsys.readouterr()
    assert generate(folder / name, "--overwrite") == 2
    err = capsys.readouterr().err
    assert err == (f"error: {folder / name}: is the {label} file of {folder / 'x.npy'}; writing there would "
                   "destroy it; choose another --output\n")
    assert unchanged(folder, before) and not (folder / "x.latents.latents.npy").exists()


def test_a_side_file_of_a_csv_dataset_or_reached_by_a_symlink_is_refused(dataset, capsys):
    folder, before = dataset
    (folder / "x.npy").rename(folder / "x.csv")  # the owner under another format: same side files
    os.symlink(folder / "x.latents.npy", folder / "link.npy")
    capsys.readouterr()
    assert generate(folder / "link.npy", "--overwrite") == 2
    assert "link.npy: is the true latents file of" in capsys.readouterr().err
    assert unchanged(folder, before) and os.path.islink(folder / "link.npy")


def test_a_side_file_name_without_its_data_file_is_an_ordinary_output(tmp_path, capsys):
    assert generate(tmp_path / "y.latents.npy") == 0  # no y.npy, .csv, .txt or .dat: nobody's latents
    assert np.load(tmp_path / "y.latents.npy").shape == (40, 3)


@pytest.mark.parametrize("name", ["x.latents.npy", "x.truth.json", "./x.latents.npy"])
def test_after_training_outputs_refuse_a_side_file_even_with_overwrite(dataset, name, monkeypatch):
    folder, before = dataset
    monkeypatch.chdir(folder)
    refusal = r"is the (true latents|truth) file of (\./)?x\.npy; writing there would destroy"
    with pytest.raises(UsageError, match=refusal):
        RunFolder(str(folder.parent / "run")).check_output(name, replace=True)
    assert unchanged(folder, before)


def test_regenerating_a_dataset_replaces_its_own_side_files(dataset):
    folder, before = dataset
    assert generate(folder / "x.npy", "--overwrite", "--seed", "9") == 0
    assert not unchanged(folder, before)  # the data's own writer renews its truth and latents
