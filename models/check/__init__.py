"""The importer self-check: a supplier list judged on public evidence only.

The package reads a supplier list (``suppliers``), finds what the public lists say about each
supplier (``evidence``), carries findings down the supply chain (``chain``), words the
guidance (``guidance``) and assembles the report (``report``). It imports the reference
tables and the entity matcher, never the store, the scorer or any history: an importer must
learn nothing the public lists do not say (an import-linter contract keeps it so).
"""
