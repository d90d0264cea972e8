# Compiled builds only (see exchange_state.pxd): the per-request methods as C calls.
cimport cython

from .responding cimport Responding

cdef class Exchange(Responding):
    cpdef special_header(self, kind, value)
    cpdef head_complete(self, parser)
    cpdef check_head(self, bytes method, bint keep_alive, str version, bint upgrade)
    @cython.locals(url=bytes, raw_path=bytes, query=bytes)
    cpdef start(self)
    @cython.locals(headers=list, index=Py_ssize_t, later=Py_ssize_t)
    cpdef take_key(self, api, query)
    cpdef begin(self, pipeline, tuple granted, rest, query, program=*)
