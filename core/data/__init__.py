"""Bundled reference data (the demo catalog) and the scripts that regenerate it from its sources."""
