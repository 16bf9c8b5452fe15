"""A trained run as a TensorFlow SavedModel that plain `tf.saved_model.load(DIR)` serves, in a process that
cannot import this project: sample(n, seed=0) and sample_means(n, seed=0) -> [n, D], encode(x) -> the
posterior family's params() of q(z|x) in order (for the diagonal Gaussian: mean, log-scale), decode(z) ->
the likelihood family's params() of p(x|z) (for the Gaussian: mean, log-scale), all in the data's units,
and config_json (the run's config.json as a tf.string: data_dim, latent_dim, beta, ...). The same functions
are its serving signatures, with named inputs and outputs, for TensorFlow Serving and saved_model_cli:
sample (n -> x, seed 0), sample_seeded (n, seed -> x), encode (x -> the posterior's parameters by name) and
decode (z -> the likelihood's).

sample is the CLI's `--mode prior` computation itself (inference.prior_chunk in a graph loop), so for the
same n and seed it gives the same numbers. Importing this module does not import TensorFlow.
"""
import contextlib
import json
import os
import re
import shutil

from betavae.cli import UsageError, first_line
from betavae.fields import spelled
from betavae.files import check_writable_folder
from betavae.run.folder import RunFolder, import_tensorflow
from betavae.run.swap import stale_stagings, staging_path, swap_in
from betavae.run.opened import open_run
from betavae.words import listed

SAVED_MODEL_FILE = "saved_model.pb"  # what makes a folder a SavedModel, so that --overwrite may replace it
# The entries of a SavedModel's folder (tf.saved_model.save's), and of its variables/: --overwrite replaces a
# SavedModel only when its folder holds nothing else, so that a file put beside the model is never deleted.
SAVED_MODEL_ENTRIES = (SAVED_MODEL_FILE, "fingerprint.pb", "variables", "assets", "assets.extra")
VARIABLES_ENTRIES = re.compile(r"^variables\.(index|data-\d+-of-\d+)$")
SHOWN_ENTRIES = 4  # foreign entries an error names before "and N more"
DEFAULT_SEED = 0  # the CLI's --seed default: sample(n) gives what `betavae prior --num-samples n` writes


def _inside(path, folder):
    """Whether the real path `path` is `folder` or lies beneath it."""
    folder = os.path.realpath(folder)
    return path == folder or path.startswith(folder + os.sep)


def check_export_dir(folder, config, output_dir, overwrite):
    """Refuse (UsageError), before any work, an output folder that is or holds the run or its data, lies
    inside a run folder, or exists (without overwrite; with it, unless it is a SavedModel); the nearest of
    its parent folders that exists must be a writable folder (the missing ones are created)."""
    real = os.path.realpath(output_dir)
    parent = os.path.dirname(real)
    output = spelled("output", keyword="output_dir")
    for source, what in ((folder.path, "the run folder"), (config.data, "the run's data"),
                         (config.test_data, "the run's test data")):
        if source and _inside(os.path.realpath(source), real):
            raise UsageError(f"{output_dir}: is or holds {what} {source}; writing there would destroy it; "
                             f"choose another {output}")
    if _inside(real, folder.path) or RunFolder(parent).is_run() or RunFolder(real).is_run():
        raise UsageError(f"{output_dir}: is or lies inside a run folder, which holds only what training and "
                         f"after-training write; choose an {output} outside it")
    if os.path.exists(real):
        if not overwrite:
            raise UsageError(f"{output_dir}: exists; pass {spelled('overwrite', True)} to replace it, or choose "
                             f"another {output}")
        if not os.path.isfile(os.path.join(real, SAVED_MODEL_FILE)):
            raise UsageError(f"{output_dir}: exists and is not a SavedModel (no {SAVED_MODEL_FILE}); "
                             f"{spelled('overwrite', True)} replaces only a SavedModel; choose another {output}")
        foreign = _foreign_entries(real)
        if foreign:
            raise UsageError(f"{output_dir}: holds {listed(foreign, SHOWN_ENTRIES)} besides a SavedModel; "
                             f"{spelled('overwrite', True)} replaces only a folder holding a SavedModel and nothing "
                             f"else; move {'it' if len(foreign) == 1 else 'them'} out or choose another {output}")
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    check_writable_folder(output_dir, parent)


def _foreign_entries(folder):
    """The entries of a SavedModel's folder that are not the SavedModel's (as paths inside it), sorted."""
    foreign = [name for name in os.listdir(folder) if name not in SAVED_MODEL_ENTRIES]
    variables = os.path.join(folder, "variables")
    if os.path.isdir(variables):
        foreign += [os.path.join("variables", name) for name in os.listdir(variables)
                    if not VARIABLES_ENTRIES.match(name)]
    return sorted(foreign)


def servable(model, config):
    """A tf.Module of the model's exported functions (the model's variables tracked through it)."""
    import tensorflow as tf
    from betavae.model.inference import prior_tensor
    count, seed = tf.TensorSpec([], tf.int64, name="n"), tf.TensorSpec([], tf.int64, name="seed")

    def prior(mean_only):
        def sample(n, seed=DEFAULT_SEED):
            tf.debugging.assert_non_negative(n, message="sample: n must be at least 0")
            return prior_tensor(model, n, seed, mean_only)
        return tf.function(sample, input_signature=[count, seed])

    module = tf.Module()
    module.model = model
    # The TensorFlow variables beneath the Keras ones, tracked by the module too: without them, a TensorFlow 1
    # style loader (TensorFlow Serving's, saved_model_cli run's) finds the functions' variables missing.
    module.tf_variables = [variable.value for variable in model.variables]
    module.sample = prior(mean_only=False)
    module.sample_means = prior(mean_only=True)
    module.encode = tf.function(lambda x: tuple(model.posterior(x).params().values()), input_signature=[
        tf.TensorSpec([None, model.data_dim], tf.float32, name="x")])
    module.decode = tf.function(lambda z: tuple(model.likelihood(z).params().values()), input_signature=[
        tf.TensorSpec([None, model.latent_dim], tf.float32, name="z")])
    # A variable, not a constant: tf.saved_model.save keeps a module's variables, not its constant tensors.
    module.config_json = tf.Variable(json.dumps(config.to_dict()), trainable=False, name="config_json")
    return module


def signatures(module):
    """The serving signatures of a servable module (see the module's docstring): its functions with named
    inputs (their input_signature's names) and outputs (x, or the families' parameter names)."""
    import tensorflow as tf
    count, x_spec = module.sample.input_signature[0], module.encode.input_signature[0]
    seed, z_spec = module.sample.input_signature[1], module.decode.input_signature[0]
    model = module.model
    functions = {"sample": (lambda n: {"x": module.sample(n)}, [count]),
                 "sample_seeded": (lambda n, seed: {"x": module.sample(n, seed)}, [count, seed]),
                 "encode": (lambda x: model.posterior(x).params(), [x_spec]),
                 "decode": (lambda z: model.likelihood(z).params(), [z_spec])}
    return {name: tf.function(function, input_signature=specs).get_concrete_function()
            for name, (function, specs) in functions.items()}


def _make_folders(path, created):
    """Create path and its missing parents, appending each to `created` (the outermost first) as it is made,
    so that a failure halfway leaves the list of what to remove."""
    missing = []
    while not os.path.lexists(path):
        missing.insert(0, path)
        path = os.path.dirname(path)
    for folder in missing:
        os.mkdir(folder)
        created.append(folder)


def export_run(run, output_dir, *, overwrite=False, verbose=False):
    """Write the model of `run` (an OpenRun, a RunFolder or its path; rebuilt from config.json and its newest
    checkpoint alone) as a SavedModel at output_dir, and return output_dir. It is saved into a temporary
    sibling folder and then moved into place in one step, so an interrupted export leaves output_dir as it
    was."""
    run = open_run(run, verbose=verbose)
    output_dir = os.fspath(output_dir)
    check_export_dir(run.folder, run.config, output_dir, overwrite)
    model, config = run.model(), run.config
    tf = import_tensorflow(verbose)
    for stale in stale_stagings(output_dir):  # left by exports that were killed
        shutil.rmtree(stale, ignore_errors=True)
    temporary, created = staging_path(output_dir), []
    try:
        _make_folders(os.path.dirname(os.path.realpath(output_dir)), created)
        module = servable(model, config)
        tf.saved_model.save(module, temporary, signatures=signatures(module))
        swap_in(temporary, output_dir)
    except (OSError, tf.errors.OpError) as error:
        for folder in reversed(created):  # the parents this export made, unless something else is in them
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        reason = getattr(error, "strerror", None) or first_line(error, 120)
        raise UsageError(f"{output_dir}: cannot write the SavedModel ({reason})") from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return output_dir
