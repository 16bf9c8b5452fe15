"""From training settings (a namespace with one attribute per training flag) to a run's config: a new run's
from its settings and data, a resumed run's from its config.json, and the check that it fits in memory."""
import dataclasses
import os
import types

import numpy as np

from betavae.cli import UsageError, warn
from betavae.config import SCHEMA_VERSION, RunConfig, default_names
from betavae.data import loading
from betavae.fields import FLAG_DEFAULTS, HYPER_PARAMETERS, RESUME_OVERRIDES, spelled
from betavae.memory import check_memory
from betavae.model.flow_layout import coupling_activations, coupling_units
from betavae.objectives import objective_of
from betavae.run.folder import CONFIG_FILE
from betavae.words import counted, listed
from betavae.xla_switch import COMPILATIONS, XLA_SWITCH, compilation_now

# The smallest scale a column is divided by, so that a column that does not vary becomes 0, not NaN (and is
# warned of: warn_of_constant_columns).
SCALE_FLOOR = 1e-6


def default_settings():
    """Training settings (one attribute per training flag) at the field table's defaults: what the training
    parser gives for no flags, for callers that have keywords rather than argv (the Python API, the sweep)."""
    return types.SimpleNamespace(**FLAG_DEFAULTS)


def resume_config(args, folder, given):
    """The run's config for --resume: its config.json with the allowed overrides and the data where it is now
    (a --data or --test-data given must be a copy of the run's file, same SHA-256); other flags given with
    other values than the run's are named in a warning. Refuses an --epochs that leaves nothing to train."""
    config = folder.load_config()
    done = folder.epochs_done()
    if args.epochs < done:
        raise UsageError(f"{spelled('epochs', args.epochs)} is below the {counted(done, 'epoch')} already trained in "
                         f"{folder.path}; nothing changed")
    copies = [name for name in ("data", "test_data") if name in given and getattr(config, name)]
    config = folder.locate_data(config, [getattr(args, name) for name in copies])
    flags = {name: os.path.abspath(getattr(args, name)) if name in ("data", "test_data") else getattr(args, name)
             for name in given if hasattr(config, name) and name not in RESUME_OVERRIDES and name not in copies}
    ignored = [f"{spelled(name, value)} (the run has {getattr(config, name)})"
               for name, value in sorted(flags.items()) if value != getattr(config, name)]
    if ignored:
        warn(f"resuming with the settings in {folder.file(CONFIG_FILE)}; ignoring " + ", ".join(ignored))
    return dataclasses.replace(config, compilation=resumed_compilation(config.compilation, folder.path),
                               **{name: getattr(args, name) for name in RESUME_OVERRIDES
                                  if name == "epochs" or name in given})


def resumed_compilation(recorded, path):
    """What config.json records of a resumed run's compilation: "mixed" once it is resumed under the other
    BETAVAE_XLA setting, with a warning that it can then no longer repeat an uninterrupted run bit for bit;
    a run that recorded none (saved before the field) stays unknown."""
    now = compilation_now()
    if recorded in (None, "mixed", now):
        return recorded
    other = "1" if recorded == "xla" else "0"
    warn(f"{path} was trained with its functions {COMPILATIONS[recorded]}; this process has them "
         f"{COMPILATIONS[now]}, whose random kernels draw other noise, so the resumed run will not repeat an "
         f"uninterrupted one bit for bit (set {XLA_SWITCH}={other} to continue as it began)")
    return "mixed"


def new_config(args, train, test, data_file=None, names=None):
    """The config of a new run: the flags, and the facts of its data that the model is rebuilt from.
    data_file: where the data given as args.data lies now, if not there yet (a staging folder's data.npy).
    names: the names of the columns trained on (None: x1..xD)."""
    if args.batch_size > len(train):
        print(f"note: {spelled('batch_size', args.batch_size)} exceeds the {counted(len(train), 'training row')}; "
              "using all of them as one batch")
    mean, std = loading.column_mean_std(train)
    warn_of_constant_columns(std, names, len(train), args.columns)
    digest = lambda path: path and loading.file_digest(path)  # noqa: E731
    flags = {name: getattr(args, name) for name in HYPER_PARAMETERS}
    objective = objective_of(args)
    flags["objective"] = objective.name
    flags.update({name: value for name, value in objective.defaults().items() if flags[name] is None})
    return RunConfig(**{**flags, "schema_version": SCHEMA_VERSION, "data": os.path.abspath(args.data),
                        "data_sha256": digest(data_file or args.data),
                        "test_data": args.test_data and os.path.abspath(args.test_data),
                        "test_data_sha256": digest(args.test_data), "batch_size": min(args.batch_size, len(train)),
                        "data_dim": int(train.shape[1]), "column_names": names and tuple(names),
                        "train_rows": len(train), "test_rows": len(test), "data_shift": tuple(mean.tolist()),
                        "data_scale": tuple(np.maximum(std, SCALE_FLOOR).tolist()),
                        "compilation": compilation_now()})


def warn_of_constant_columns(std, names, rows, columns=None):
    """Warn in one line of columns that do not vary in the training rows: the decoder's variance for them can
    shrink without limit (their scale is floored at SCALE_FLOOR), so the loss falls without bound and says
    nothing of the other columns. columns: the run's --columns value (None: all)."""
    names = names or default_names(len(std))
    constant = [names[j] for j in np.flatnonzero(np.asarray(std) <= SCALE_FLOOR)]
    if not constant:
        return
    advice = f"leave {'it' if len(constant) == 1 else 'them'} out" + (
        f" with {spelled('columns')}" if columns is None else f" of {spelled('columns')}")
    warn(f"{'column' if len(constant) == 1 else 'columns'} {listed(constant, 5)} "
         f"{'does' if len(constant) == 1 else 'do'} not vary in the {counted(rows, 'training row')}: the "
         f"likelihood of a constant has no bound, so the loss can fall without limit; {advice}")


# The address space a training process maps besides the model's own arrays, which counts against `ulimit -v`
# though most of it is never resident: TensorFlow's libraries, thread stacks and allocator (2.9 GB measured as
# VmPeak of a tiny model's training, TensorFlow 2.21 on Linux).
TRAINING_ADDRESS_SPACE = 3 * 2 ** 30


def check_training_memory(config):
    """Refuse, before TensorFlow loads, a model and batch that cannot fit in the available memory: the
    weights with their gradients and Adam's two moments (4 copies of float32), and the activations of the
    larger of a training batch and the test set (evaluated in one call), mc_samples draws of each row (of each
    component, for a mixture posterior; with a flow posterior's steps, forward and back), kept for the
    backward pass (about 3 copies), twice over for the doubly reparameterised gradient (which runs the
    decoder again on the draws)."""
    units, dim, latent = config.hidden_units, config.data_dim, config.latent_dim
    flow = config.posterior == "flow"
    head = 2 * latent + (coupling_units(latent, config.flow_steps) if flow else 0)
    weights = 2 * units * units + units * (dim + head) + units * (latent + 2 * dim) + 4 * units
    draws = config.mc_samples * (config.components if config.posterior == "mixture" else 1)  # one per component
    rows = max(config.batch_size, config.test_rows) * draws
    passes = 2 if config.iwae_gradient == "dreg" else 1
    per_draw = 2 * units + 2 * dim + 2 * latent + (coupling_activations(latent, config.flow_steps) if flow else 0)
    activations = passes * rows * per_draw
    check_memory(4 * (4 * weights + 3 * activations),
                 f"{spelled('hidden_units', units)}, {spelled('mc_samples', config.mc_samples)} and "
                 f"{counted(rows // draws, 'row')} of {counted(dim, 'column')} at a time",
                 process_maps=TRAINING_ADDRESS_SPACE)
