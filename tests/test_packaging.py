"""The package's metadata agrees with the requirements files, and the package never imports the scripts."""
import ast
import os
import tomllib

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


def test_the_package_never_imports_a_top_level_script():
    for folder, _, names in os.walk(os.path.join(REPO, "betavae")):
        for name in (name for name in names if name.endswith(".py")):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
            imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                        for alias in node.names}
            imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                         if isinstance(node, ast.ImportFrom) and node.module}
            assert not imported & SCRIPTS, f"{path} imports {imported & SCRIPTS}"
