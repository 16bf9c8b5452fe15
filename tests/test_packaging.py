"""The package's metadata agrees with the requirements files, its version with the citation and the changelog,
the package never imports the scripts, and nothing in it imports the commands (its top layer) but the commands
themselves and the Python API beside them."""
import ast
import importlib.metadata
import os
import re
import tomllib

from betavae import version as version_module
from betavae.version import pyproject_version
from conftest import REPO

SCRIPTS = {"beta_vae_main", "beta_vae_after_training", "beta_vae_sweep", "data_processing", "beta_vae_layers",
           "beta_vae_models"}


def requirement_lines(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as handle:
        return {line.strip() for line in handle if line.strip() and not line.startswith("#")}


def test_pyproject_dependencies_are_the_requirements_files():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as handle:
        project = tomllib.load(handle)["project"]
    extras = project["optional-dependencies"]
    assert set(project["dependencies"]) | set(extras["test"]) == requirement_lines("requirements.txt")
    assert set(extras["ray"]) == requirement_lines("requirements-ray.txt")


def package_imports():
    """(path, the modules it imports, at its top or inside a function) for every module of the package;
    `from betavae import commands` counts as betavae.commands."""
    for folder, _, names in os.walk(os.path.join(REPO, "betavae")):
        for name in (name for name in names if name.endswith(".py")):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
            imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
            yield path, imported


def test_the_package_never_imports_a_top_level_script():
    for path, imported in package_imports():
        scripts = {name.split(".")[0] for name in imported} & SCRIPTS
        assert not scripts, f"{path} imports {scripts}"


def test_nothing_beneath_the_commands_imports_them():
    # commands/ is the top layer; api.py stands beside it, the Python face over the commands' own functions, and
    # __main__.py (python -m betavae) on it.
    above = (os.path.join(REPO, "betavae", "commands") + os.sep, os.path.join(REPO, "betavae", "api.py"),
             os.path.join(REPO, "betavae", "__main__.py"))
    for path, imported in package_imports():
        if not path.startswith(above):
            upward = {name for name in imported if name == "betavae.commands" or name.startswith("betavae.commands.")}
            assert not upward, f"{path} imports {upward}"


# The package's layers, lowest first: a module imports from lower layers and from its own folder only, so
# that the floors stay a tree of uses with nothing importing back up (the top-level modules are their own).
LAYERS = (("version", "words", "posterior_settings", "xla_switch"), ("cli", "constants", "objectives"),
          ("fields", "files", "grid_quadrature", "memory", "paths"), ("config", "model"), ("data", "plots"), ("run",),
          ("scoring", "training", "serving"), ("sweep",), ("commands", "api"), ("__main__",))


def layer_of(module):
    """The layer index and the part (a top-level module or a folder of betavae) of a betavae module."""
    part = module.split(".")[1]
    return next(index for index, layer in enumerate(LAYERS) if part in layer), part


def test_every_import_of_the_package_runs_down_its_layers():
    for path, imported in package_imports():
        relative = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".").removesuffix(".__init__")
        if relative == "betavae":
            continue  # the package's face hands names on from every layer
        layer, part = layer_of(relative)
        for name in (name for name in imported if name.startswith("betavae.") and name.count(".") >= 1):
            if name.split(".")[1] in {n for layer_names in LAYERS for n in layer_names}:
                other, other_part = layer_of(name)
                assert other < layer or other_part == part, f"{relative} imports {name}: up or across layers"


def test_the_layer_check_sees_an_import_across_layers():
    assert layer_of("betavae.plots.sweep")[0] < layer_of("betavae.scoring.sections")[0]
    assert layer_of("betavae.data.loading")[0] == layer_of("betavae.plots.run")[0]


def test_the_version_agrees_across_pyproject_the_package_the_citation_and_the_changelog():
    import betavae
    version = pyproject_version(os.path.join(REPO, "pyproject.toml"))
    with open(os.path.join(REPO, "CITATION.cff"), encoding="utf-8") as handle:
        citation = handle.read()
    with open(os.path.join(REPO, "CHANGELOG.md"), encoding="utf-8") as handle:
        top_entry = next(line for line in handle if line.startswith("## ") and line != "## [Unreleased]\n")
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert betavae.__version__ == version
    assert re.search(r"^version: \"?([^\"\s]+)\"?$", citation, re.M).group(1) == version
    assert re.match(r"## \[(.+?)\] - \d{4}-\d{2}-\d{2}$", top_entry).group(1) == version
    assert re.search(r"^cff-version: 1\.2\.0$", citation, re.M)
    for title in ("beta-VAE: Learning Basic Visual Concepts", "Auto-Encoding Variational Bayes"):
        assert f'title: "{title}' in citation


def test_the_version_comes_from_the_metadata_or_else_from_pyproject(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)
    read = version_module.package_version.__wrapped__  # without the cache of the process's version
    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert read() == pyproject_version(os.path.join(REPO, "pyproject.toml"))
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.8.7")
    assert read() == "9.8.7"


def test_the_license_is_mit_and_named_in_pyproject():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as handle:
        assert tomllib.load(handle)["project"]["license"] == {"text": "MIT"}
    with open(os.path.join(REPO, "LICENSE"), encoding="utf-8") as handle:
        text = handle.read()
    assert text.startswith("MIT License\n") and "Copyright (c) 2026 the betavae authors" in text
