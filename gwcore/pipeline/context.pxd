# Compiled builds only: the context's objects with C struct fields (built for every request that
# has policies); uncompiled they are the same classes with __slots__.
cdef class Headers:
    cdef public object _items
    cpdef _remove(self, key)
    cpdef _add(self, key, values)


cdef class Query:
    cdef public object _raw, _pairs


cdef class Url:
    cdef public object scheme, _authority, path, query


cdef class Request:
    cdef public object method, url, headers, ip, matched_parameters, body, certificate


cdef class Response:
    cdef public object status_code, reason, headers, body


cdef class Context:
    cdef public object request, response, api, operation, product, subscription, _variables
    cdef public object request_id, last_error, jwt, timestamp
    cdef public object _exchange, _run, _backend, _rest, _finally, _state, _extra, _client_cert
    cpdef _add_response_headers(self, headers)
    cpdef _on_end(self, callback)
    cpdef _ended(self)
