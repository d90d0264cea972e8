# Compiled builds only: the common steps' fields as C struct fields, run() a C call from the Run.
cimport cython

from gwcore.pipeline.context cimport Context, Headers
from gwcore.pipeline.runner cimport Step


cdef class SetHeaderValues(Step):
    cdef public bytes key
    cdef public list values
    cdef public bint to_request
    @cython.locals(context=Context, headers=Headers)
    cpdef run(self, ctx)


cdef class Forward(Step):
    cdef public object timeout
    @cython.locals(context=Context)
    cpdef run(self, ctx)


cdef class HeaderEdits:
    cdef public frozenset names
    cdef public list pairs
    @cython.locals(index=Py_ssize_t)
    cpdef apply(self, list headers)
