"""A beta sweep: its plan (runs, flags, the table) and the engines that execute it."""
