# Compiled builds only (see exchange_state.pxd): the per-request methods as C calls.
cimport cython
from gwcore.pipeline.context cimport Context, Response
from gwcore.pipeline.runner cimport Run

from .forwarding cimport Forwarding

cdef class Responding(Forwarding):
    @cython.locals(ctx=Context, response=Response)
    cpdef upstream_headers(self, status, headers)
    cpdef response_head(self, status, reason, headers, body_length, has_length=*)
    cpdef upstream_body(self, chunk)
    cpdef upstream_flush(self)
    cpdef upstream_complete(self, keep_alive)
    cpdef upstream_failed(self, reason, got_bytes)
    cpdef upstream_write_paused(self)
    cpdef upstream_write_resumed(self)
    cpdef reply(self, status, message, extra=*)
    cpdef local(self, answer)
    cpdef finish(self)
    @cython.locals(ctx=Context, run=Run)
    cpdef ended(self)
    @cython.locals(response=Response)
    cpdef send_response(self, Context ctx)
    cpdef send_error(self, error)
