"""Clue hand-out to towns in batches (集中交办), outcomes and the report."""
