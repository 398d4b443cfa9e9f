"""The one feature path: signals per line, fitted statistics, the model matrix."""
