"""OpenTelemetry spans per request: a server span and a client span for the backend call.

Imported only by observability/tracing.py once it knows the SDK is there. Spans are made
when the exchange finishes, with the times it recorded, so the request path itself carries
no tracing work; an unsampled request costs one sampler call.
"""
import time
from time import perf_counter

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gwcore.observability.tracing import events_of

_PROPAGATOR = TraceContextTextMapPropagator()


class Tracing:
    """One per worker: its TracerProvider (head sampling from gateway.tracing) and OTLP/HTTP export."""

    def __init__(self, config):
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": config.service_name}),
            sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)))
        # endpoint, headers and timeouts come from the standard OTEL_EXPORTER_OTLP_* variables
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.tracer = self.provider.get_tracer("gwcore")

    def finished(self, exchange) -> None:
        """The server span of a finished exchange, and its client span when it went to a backend."""
        if not exchange.t0:
            return
        end_pc, end_ns = perf_counter(), time.time_ns()
        carrier = {}
        for name, value in exchange.headers:
            if name == b"traceparent" or name == b"tracestate":
                carrier[name.decode()] = value.decode("latin-1")
        parent = _PROPAGATOR.extract(carrier) if carrier else None
        method = exchange.method.decode("ascii", "replace")
        api, operation = exchange.api, exchange.operation
        route = f"{api.name}/{operation.id}" if operation is not None else "unmatched"
        attributes = {"http.request.method": method, "url.path": exchange.path,
                      "http.response.status_code": exchange.status, "gwcore.api": api.name if api else "",
                      "gwcore.operation": operation.id if operation else "",
                      "gwcore.request_id": exchange.request_id.decode("latin-1")}
        span = self.tracer.start_span(f"{method} {route}", context=parent, kind=SpanKind.SERVER,
                                      start_time=end_ns - int((end_pc - exchange.t0) * 1e9), attributes=attributes)
        if not span.is_recording():
            return
        for name, event_attributes in events_of(exchange.ctx):
            span.add_event(name, event_attributes)
        if exchange.status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        if exchange.t_upstream and exchange.pool is not None:
            client = self.tracer.start_span(
                f"{method} {exchange.pool.address}", context=trace.set_span_in_context(span), kind=SpanKind.CLIENT,
                start_time=end_ns - int((end_pc - exchange.t_upstream) * 1e9),
                attributes={"server.address": exchange.pool.member.host, "server.port": exchange.pool.member.port,
                            "http.request.method": method, "http.response.status_code": exchange.status})
            client.end(end_time=end_ns)
        span.end(end_time=end_ns)

    def shutdown(self) -> None:
        """Export what is buffered before the worker exits."""
        self.provider.shutdown()
