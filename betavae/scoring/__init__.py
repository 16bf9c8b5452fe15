"""Scoring a run against exact references: the evaluation, the linear-Gaussian references, the truth of
generated data and alignment."""
