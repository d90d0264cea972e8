# Compiled builds only: the fields as C struct fields (a plain Python class otherwise).
cdef class UpstreamClient:
    cpdef upstream_headers(self, status, headers)
    cpdef upstream_body(self, chunk)
    cpdef upstream_flush(self)
    cpdef upstream_complete(self, keep_alive)
    cpdef upstream_failed(self, reason, got_bytes)
    cpdef upstream_write_paused(self)
    cpdef upstream_write_resumed(self)


cdef class UpstreamConnection:
    cdef public object pool, transport, parser, idle_since
    cdef public list headers
    cdef public UpstreamClient exchange
    cdef public bint closed, reused, write_paused, got_bytes, chunked, head_request, interim, fresh
    cdef public bint head_done, head_keep_alive, has_connection
    cdef public Py_ssize_t content_lengths
    cpdef _reset(self)
    cpdef attach(self, UpstreamClient exchange, bint head_request)
    cpdef write(self, data)
    cpdef close(self)
    cpdef abort(self)
    cpdef _finish(self, bint keep_alive)
    cdef _finish_head(self, UpstreamClient exchange)
    cdef bint _take_whole(self, UpstreamClient exchange, bytes data) except -1
