# Compiled builds only: BackendSet's fields as C struct fields, choose() a C call.
cdef class BackendSet:
    cdef dict __dict__
    cdef public object backend, pools, loop, single, groups
    cdef public bint least_requests
    cpdef choose(self, exclude=*)
