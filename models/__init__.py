"""Shared core of flrisk: data contract, reference tables, features, model format, explanations.

Both the training pipelines and the serving layer import from here; nothing here imports them.
"""
