"""A beta-VAE for vector data (Higgins et al. 2017), scored against the exact optimum of generated data.

The public API (betavae.api): train, Run, load_run, evaluate, sample, reconstruct, encode, export, beta_sweep (not
"sweep", which is the subpackage betavae.sweep), and UsageError, the one-line error of whatever a user can get
wrong; and __version__. `import betavae` imports neither TensorFlow nor numpy: each name is loaded at its first use.
"""
__all__ = ["train", "Run", "load_run", "evaluate", "sample", "reconstruct", "encode", "export", "beta_sweep",
           "UsageError"]


def __getattr__(name):
    """The public API's names and __version__, imported on first use (so that importing the package stays
    instant)."""
    if name == "__version__":
        from betavae.version import package_version
        return package_version()
    if name == "UsageError":
        from betavae.cli import UsageError
        return UsageError
    if name in __all__:
        from betavae import api
        return getattr(api, name)
    raise AttributeError(f"module 'betavae' has no attribute {name!r}")


def __dir__():
    """The public API beside the module's own names, so that a notebook's completion shows them."""
    return sorted(set(__all__) | set(globals()))

