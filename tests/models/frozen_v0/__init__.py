"""Frozen copy of the feature code as it was before the performance work (regression oracle)."""
