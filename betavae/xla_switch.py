"""The BETAVAE_XLA switch: whether the model's graph functions are compiled by XLA (1, the default) or only
traced into TensorFlow graphs (0). Without TensorFlow, so that a command checks it before any work."""
import os

XLA_SWITCH = "BETAVAE_XLA"
XLA_VALUES = {"1": True, "0": False}


def xla_enabled():
    """True unless the environment sets BETAVAE_XLA=0; another value than 0 or 1 is a ValueError."""
    value = os.environ.get(XLA_SWITCH, "1").strip()
    if value not in XLA_VALUES:
        raise ValueError(f"the environment variable {XLA_SWITCH}={value!r}: expected 1 (compile the model's "
                         "functions with XLA, the default) or 0 (trace them without XLA)")
    return XLA_VALUES[value]


# How a run's graph functions were built, as config.json records it (field compilation).
COMPILATIONS = {"xla": f"compiled by XLA ({XLA_SWITCH}=1)", "traced": f"traced without XLA ({XLA_SWITCH}=0)",
                "mixed": "trained partly under each setting (resumed under the other)"}


def compilation_now():
    """How this process builds the graph functions: "xla" or "traced" (COMPILATIONS)."""
    return "xla" if xla_enabled() else "traced"
