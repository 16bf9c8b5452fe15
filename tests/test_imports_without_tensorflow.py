"""The numpy layers of the package (data, config, files, scoring) import where TensorFlow cannot: they
load no model at import, so the sweep's driver, the API's face and a reader of reports stay light."""
import os
import subprocess
import sys

from conftest import REPO

NUMPY_LAYERS = ("betavae/data", "betavae/scoring", "betavae/config.py", "betavae/files.py", "betavae/memory.py", "betavae/paths.py")
# Make `import tensorflow` fail in the child, so that an import anywhere (not only a top-level one) is caught.
BLOCK = ("import sys, importlib.abc\n"
         "class Block(importlib.abc.MetaPathFinder):\n"
         "    def find_spec(self, name, path=None, target=None):\n"
         "        if name.split('.')[0] in ('tensorflow', 'keras'):\n"
         "            raise ImportError('blocked: ' + name)\n"
         "sys.meta_path.insert(0, Block())\n")


def modules_of(place):
    """The dotted names of the Python modules of a package folder (recursively) or of one file."""
    path = os.path.join(REPO, place)
    files = [place] if path.endswith(".py") else [
        os.path.relpath(os.path.join(folder, name), REPO)
        for folder, _, names in os.walk(path) for name in names if name.endswith(".py")]
    return sorted(name[:-3].replace(os.sep, ".").removesuffix(".__init__") for name in files)


def test_the_numpy_layers_import_without_tensorflow():
    modules = [module for place in NUMPY_LAYERS for module in modules_of(place)]
    assert "betavae.scoring.sections.context" in modules and "betavae.data.truth" in modules
    code = BLOCK + "".join(f"import {module}\n" for module in modules) + "print(len(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1]


def test_the_block_catches_a_module_that_imports_tensorflow():
    code = BLOCK + "import betavae.model.layers\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode != 0 and "blocked: tensorflow" in result.stderr
