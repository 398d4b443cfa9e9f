"""The importers' self-check page (``/check``): its own router and template, no workbench."""
