"""The API for screening systems under ``/v1``: one router per resource in ``routes/``."""
