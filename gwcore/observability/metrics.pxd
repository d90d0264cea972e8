# Compiled builds only: WorkerMetrics' fields as C struct fields, count() (once per request) a C function.
cimport cython


@cython.locals(index=Py_ssize_t, bound=double)
cpdef Py_ssize_t bucket(double elapsed)


cdef class WorkerMetrics:
    cdef public dict requests, limits, cache, custom
    cpdef _reset(self)
    @cython.locals(slots=list, t0=double, now=double, elapsed=double, t_upstream=double)
    cpdef count(self, exchange)
