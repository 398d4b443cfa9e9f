"""HTTP service (FastAPI) for screening systems and the officer workbench."""
