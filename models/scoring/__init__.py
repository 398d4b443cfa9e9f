"""The model format, scoring, explanations, and looking models up in the registry."""
