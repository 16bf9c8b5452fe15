"""The README's Python example runs as written in an empty directory, with the package installed by pip
into a fresh virtual environment (TensorFlow and numpy from the system's site-packages) and nothing else."""
import os
import re
import subprocess

import pytest

from betavae.xla_switch import XLA_SWITCH
from conftest import REPO, pip_installed


def readme_example():
    """The one ```python block of README.md's "## Python API" section."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, f"expected one ```python block, found {len(blocks)}"
    return blocks[0]


def test_the_example_is_found():
    example = readme_example()
    assert "betavae.train(" in example and ".evaluate(" in example and ".encode(" in example


@pytest.mark.slow
def test_the_readme_example_runs_from_an_empty_directory_with_the_installed_package(tmp_path):
    bin_folder, env = pip_installed(tmp_path)
    env[XLA_SWITCH] = "1"  # as a user runs it: compiled by XLA, which the rest of the suite mostly skips
    python = str(bin_folder / "python")
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "example.py").write_text(readme_example(), encoding="utf-8")
    where = subprocess.run([python, "-c", "import betavae; print(betavae.__file__)"], capture_output=True,
                           text=True, env=env, cwd=empty, timeout=60)
    assert where.stdout.startswith(str(tmp_path / "venv")), where.stdout + where.stderr
    result = subprocess.run([python, str(tmp_path / "example.py")], capture_output=True, text=True, env=env,
                            cwd=empty, timeout=600)
    assert result.returncode == 0, result.stderr
    assert re.search(r"-log p\(x\) \d+\.\d{3} nats per sample \(factor analysis \d+\.\d{3}\)", result.stdout)
    assert "(500, 4) (10, 4) (10, 2)" in result.stdout
    assert os.path.isfile(empty / "runs" / "api" / "evaluation.json")
