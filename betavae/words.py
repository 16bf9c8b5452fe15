"""Words of the messages and reports: a count with its noun in the number it takes, a list shown short.
Plain Python."""


def counted(count, noun, plural=None, spec=""):
    """A count with its noun in the number it takes: 1 plot, 2 plots, 0 plots (plural: for a noun whose plural
    is not noun + "s"; spec: the count's format, e.g. "," for 10,000)."""
    return f"{count:{spec}} {noun if count == 1 else plural or noun + 's'}"


def listed(names, shown):
    """The first `shown` names, comma-separated, and how many more there are: "a, b, c and 2 more"."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
