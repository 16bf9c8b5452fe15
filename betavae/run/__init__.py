"""A run folder on disk and the lock of its one writer."""
