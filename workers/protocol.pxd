# Compiled builds only: HttpProtocol's fields as C struct fields, its exchanges typed (see
# exchange_state.pxd).
from .exchange cimport Exchange
from .worker_state cimport WorkerState

cdef class HttpProtocol:
    # per-connection state
    cdef public WorkerState worker
    cdef public object loop, transport, parser, peer, peer_text, flow, queue, failure
    cdef public object scheme, scheme_text
    cdef public Exchange active
    cdef public bint closing
    cdef public int wait
    cdef public double deadline
    # per-request state: the request being parsed
    cdef public Exchange current
    cdef _take_whole(self, bytes method, bytes url, list headers)
    cdef _begin(self)
    cdef _header(self, bytes name, bytes value)
    cdef _head_parsed(self, refused)
    cdef _message_complete(self)
    cdef _refuse(self, int status, str message)
