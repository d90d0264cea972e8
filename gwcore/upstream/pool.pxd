# Compiled builds only: what a request reads of its pool as C struct fields; the rest of the
# attributes live in __dict__ as they would uncompiled.
cdef class UpstreamPool:
    cdef dict __dict__
    cdef public object member, loop, idle, breaker, backend_set
    cdef public Py_ssize_t open, max_idle
    cdef public bint retired
    cpdef acquire_idle(self)
    cpdef release(self, conn)


cdef class Upstreams:
    cdef dict __dict__
    cdef public object _sets
    cpdef backend_set(self, name)
