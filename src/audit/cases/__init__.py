"""Inspectors' review of cases: decisions with four eyes, rectification, recovery."""
