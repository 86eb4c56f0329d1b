"""Pre-release checks: the finance officer's verdict per line before money moves."""
