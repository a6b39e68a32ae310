"""Versioned prompt files and the loader that renders them with provenance."""
