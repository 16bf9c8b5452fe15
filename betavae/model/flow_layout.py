"""The layout of the flow posterior's coupling weights in the encoder's head (betavae.model.flow): how many units
each step takes and in which pieces, in plain Python, so that the training's memory check reads it before
TensorFlow loads.
"""
import math

COUPLING_UNITS = 8  # tanh units of each step's conditioner
# The pieces of one step's weights in the head, in order, as (name, shape from (kept, moved, units)).
PIECES = (("w1", lambda kept, moved, units: (kept, units)), ("b1", lambda kept, moved, units: (units,)),
          ("ws", lambda kept, moved, units: (units, moved)), ("bs", lambda kept, moved, units: (moved,)),
          ("wt", lambda kept, moved, units: (units, moved)), ("bt", lambda kept, moved, units: (moved,)))


def piece_size(shape):
    """The head units of a piece of that shape."""
    return math.prod(shape)


def step_sizes(latent_dim, step):
    """(kept, moved): the sizes of the part step `step` keeps and of the part it moves (the first
    latent_dim // 2 coordinates and the rest, alternating: even steps keep the first part)."""
    first = latent_dim // 2
    return (first, latent_dim - first) if step % 2 == 0 else (latent_dim - first, first)


def step_units(latent_dim, step):
    """The head units of step `step`'s conditioner weights (W1, b1, Ws, bs, Wt, bt)."""
    return sum(piece_size(shape(*step_sizes(latent_dim, step), COUPLING_UNITS)) for _, shape in PIECES)


def coupling_units(latent_dim, steps):
    """The head units of `steps` steps' conditioner weights."""
    return sum(step_units(latent_dim, step) for step in range(steps))


def coupling_activations(latent_dim, steps):
    """The floats a draw of one row holds through the steps, forward and back (training runs both: the draws,
    then their log-density): per step the kept part times the units and the units times the moved part twice
    (the products before their sums), the hidden units, s, t and the moved part, z and its log-determinant."""
    total = 0
    for step in range(steps):
        kept, moved = step_sizes(latent_dim, step)
        total += COUPLING_UNITS * (kept + 1 + 2 * moved) + 3 * moved + 2 * latent_dim
    return 2 * total
