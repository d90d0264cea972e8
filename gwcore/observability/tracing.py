"""Tracing switch: OpenTelemetry only with the extra gwcore[otel] and OTEL_EXPORTER_OTLP_ENDPOINT set.

Nothing of OpenTelemetry is imported unless both hold, so a gateway without tracing pays
neither the import time nor the memory; `gwcore/observability/otel.py` does the rest.
"""
import importlib.util
import logging
import os

log = logging.getLogger("gwcore.tracing")
ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


def setup(settings):
    """A started Tracing for this worker (call after the fork, before serving), or None."""
    if not os.environ.get(ENDPOINT):
        return None
    if importlib.util.find_spec("opentelemetry") is None:  # finds without importing
        log.warning("%s is set but OpenTelemetry is not installed (pip install 'gwcore[otel]'): no tracing",
                    ENDPOINT)
        return None
    try:
        from gwcore.observability.otel import Tracing
        return Tracing(settings.tracing)
    except ImportError as exc:
        log.warning("%s is set but the OpenTelemetry SDK or OTLP exporter is missing (%s): no tracing",
                    ENDPOINT, exc)
        return None


def add_event(ctx, name: str, attributes: dict) -> None:
    """The trace policy: keep an event for the request's server span (made when it finishes)."""
    exchange = ctx._exchange
    if exchange.worker.tracing is None:
        return
    if ctx._state is None:
        ctx._state = {}
    ctx._state.setdefault(add_event, []).append((name, attributes))


def events_of(ctx) -> list:
    return ctx._state.get(add_event, ()) if ctx is not None and ctx._state else ()
