"""Whether the model's graph functions are compiled by XLA (the default) or only traced into TensorFlow graphs.

XLA runs an epoch faster but takes seconds to compile each function, which dominates where runs are many and
short (a test suite, a notebook trying small models). The environment variable BETAVAE_XLA=0 skips that
compilation. XLA's random kernels draw other numbers than TensorFlow's for the same seed, so a seeded run
repeats exactly under the same setting, and a resumed run continues its history exactly only under the
setting it was trained with.
"""
import functools

import tensorflow as tf

from betavae.xla_switch import xla_enabled


def graph_function(function):
    """function as a graph function, compiled by XLA unless BETAVAE_XLA=0: the switch is read at each call, and
    each setting keeps its own tf.function, so a process may change it (tracing_count() sums their traces)."""
    compiled = {}

    @functools.wraps(function)
    def call(*args, **kwargs):
        xla = xla_enabled()
        if xla not in compiled:
            compiled[xla] = tf.function(function, jit_compile=xla)
        return compiled[xla](*args, **kwargs)

    call.tracing_count = lambda: sum(each.experimental_get_tracing_count() for each in compiled.values())
    return call
