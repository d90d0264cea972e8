# Compiled builds only: the context's objects with C struct fields (built for every request that
# has policies); uncompiled they are the same classes with __slots__.
cimport cython

cdef class Headers:
    cdef public list _items
    @cython.locals(items=list)
    cpdef _remove(self, key)
    cpdef _add(self, key, values)


cdef class Query:
    cdef public object _raw, _pairs
    cpdef _encoded(self)


cdef class Url:
    cdef public Query query
    cdef public object scheme, _authority, path


cdef class Request:
    cdef public Headers headers
    cdef public str method
    cdef public Url url
    cdef public object ip, matched_parameters, body, certificate


cdef class Response:
    cdef public Headers headers
    cdef public object status_code, reason, body


cdef class Context:
    cdef public Request request
    cdef public Response response
    cdef public object api, operation, product, subscription, _variables
    cdef public object request_id, last_error, jwt, timestamp
    cdef public object _exchange, _run, _backend, _rest, _finally, _state, _extra, _client_cert
    cpdef _add_response_headers(self, headers)
    cpdef _on_end(self, callback)
    cpdef _ended(self)
