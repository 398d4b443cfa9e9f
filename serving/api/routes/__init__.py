"""One router per API resource: score, files (and jobs), feedback, model, admin, health."""
