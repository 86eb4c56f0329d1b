"""Red-flag detectors, one per file, named by code (see ``catalogue`` for the codes)."""
