"""Figures of a run and of a sweep."""
