"""The tutorial notebook (docs/tutorial.ipynb) runs from start to end as a reader runs it, in a kernel of its own,
and shows its numbers and figures."""
import os
import shutil

import pytest

from conftest import REPO


@pytest.mark.slow  # a training, its evaluation and a sweep of two runs: about a minute of CPU time
def test_the_tutorial_notebook_runs_and_draws_its_figures(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="requirements-docs.txt installs the notebook runner")
    nbclient = pytest.importorskip("nbclient", reason="requirements-docs.txt installs the notebook runner")
    # The notebook lives in docs/ and reads ../data: the same layout in a temporary folder keeps its runs there.
    (tmp_path / "docs").mkdir()
    shutil.copy(os.path.join(REPO, "docs", "tutorial.ipynb"), tmp_path / "docs")
    os.symlink(os.path.join(REPO, "data"), tmp_path / "data")
    monkeypatch.setenv("PYTHONPATH", REPO)  # as `pip install -e .` would make the package importable
    notebook = nbformat.read(tmp_path / "docs" / "tutorial.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path / "docs")}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "the truth's" in text and "-ELBO minus the truth on 200 rows" in text
    assert "beta    1: rate" in text and "beta    8: rate" in text
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(figures) == 3
    assert sorted(os.listdir(tmp_path / "docs" / "runs")) == ["tutorial", "tutorial-sweep"]
