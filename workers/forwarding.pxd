# Compiled builds only (see exchange_state.pxd): the per-request methods as C calls.
cimport cython
from gwcore.pipeline.compiled_steps cimport HeaderEdits
from gwcore.pipeline.context cimport Context, Request
from gwcore.pipeline.runner cimport Program
from gwcore.upstream.balancing cimport BackendSet
from gwcore.upstream.connection cimport UpstreamConnection
from gwcore.upstream.pool cimport UpstreamPool, Upstreams

from .exchange_state cimport ExchangeState

cdef class Forwarding(ExchangeState):
    @cython.locals(backend_set=BackendSet, pool=UpstreamPool, edits=HeaderEdits)
    cpdef forward_plain(self, rest, query, pipeline)
    @cython.locals(backend_set=BackendSet, pool=UpstreamPool, upstreams=Upstreams, request=Request,
                   program=Program)
    cpdef forward(self, Context ctx, timeout)
    cpdef _stream_framing(self)
    cpdef build_head(self, method, target, host_header, headers, framing)
    cpdef _send_to(self, UpstreamPool pool)
    @cython.locals(ctx=Context)
    cpdef attach(self, UpstreamConnection conn)
    cpdef request_body(self, chunk)
    cpdef request_done(self)
