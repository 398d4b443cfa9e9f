"""Batch pipelines: simulation, training, evaluation, registry and the command line."""
