"""The officer workbench: server-rendered pages over the same model, store and keys as the API.

Officers sign in with an API key and get a server-side session; every POST form carries the
session's CSRF token; every action is written to the audit log as ``workbench_*``. The pages
are in ``routes/``, their dependencies (session, scope, form, worklist) in ``deps.py``.
"""
