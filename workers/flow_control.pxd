# Compiled builds only: the fields as C struct fields (a plain Python class otherwise).
cdef class FlowControl:
    cdef public object transport
    cdef public int reasons
