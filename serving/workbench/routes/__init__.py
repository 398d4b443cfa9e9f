"""The workbench's pages, one router per part: sign-in, worklists, entries, the model page."""
