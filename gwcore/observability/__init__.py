"""Observability: access log, metrics, trace-context propagation."""
