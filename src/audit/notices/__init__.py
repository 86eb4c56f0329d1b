"""Public notices (公示): lists for the portal and village boards, numbers masked."""
