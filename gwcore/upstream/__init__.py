"""Upstream side: keep-alive connection pools to backend members, balancing, timeouts."""
