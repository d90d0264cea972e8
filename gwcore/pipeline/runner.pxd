# Compiled builds only: a Program's and a Run's fields as C struct fields, the Run's moves C calls.
cimport cython


cdef class Step:
    cpdef run(self, ctx)


cdef class Program:
    cdef public tuple sections, origins
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
    @cython.locals(compiled=Step, steps=tuple, pc=Py_ssize_t)
    cpdef _advance(self, status)
    cpdef abandon(self)
