# Compiled builds only: the fields of WorkerState as C struct fields (see worker_state.py).
from gwcore.upstream.pool cimport Upstreams


cdef class WorkerState:
    cdef public object loop, plan, limits, timeouts, request_id_header, skip_request_headers
    cdef public dict special_headers
    cdef public object state, observe, access_log, connections
    cdef public Py_ssize_t max_header_bytes, max_header_count, max_uri_bytes, max_body_bytes
    cdef public double header_read_timeout, body_read_timeout, keepalive_idle_timeout
    cdef public Upstreams upstreams
    cdef public bint draining
    cdef public Py_ssize_t requests
    cdef public object _rid_prefix
    cdef public unsigned long long _rid_counter
    cpdef use_limits_and_timeouts(self, limits, timeouts)
    cpdef new_request_id(self)
