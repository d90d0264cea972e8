# Compiled builds only: a Program's and a Run's fields as C struct fields, the Run's moves C calls.
cdef class Program:
    cdef public tuple sections
    cdef public bint request_body, response_body, forwards, streams
    cdef public object preflight


cdef class Run:
    cdef public Program program
    cdef public object ctx, host, loop, waiting
    cdef public int section
    cdef public Py_ssize_t pc
    cpdef start(self)
    cpdef resume(self, status=*)
    cpdef fail(self, error)
    cpdef _advance(self, status)
    cpdef abandon(self)
