"""Residents' complaints (群众投诉): filed at the public window, read and answered by inspectors."""
