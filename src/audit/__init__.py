"""Fund-supervision and anti-fraud auditing for public poverty-alleviation money."""

__version__ = "0.1.0"
