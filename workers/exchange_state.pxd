# Compiled builds only: the fields of ExchangeState as C struct fields (see exchange_state.py).
from gwcore.upstream.connection cimport UpstreamClient, UpstreamConnection
from gwcore.upstream.pool cimport UpstreamPool

from gwcore.pipeline.compiled_steps cimport HeaderEdits
from gwcore.pipeline.context cimport Context
from gwcore.pipeline.runner cimport Program, Run

from .worker_state cimport WorkerState


cdef class ExchangeState(UpstreamClient):
    cdef public object conn
    cdef public WorkerState worker
    # request as parsed
    cdef public list headers
    cdef public bytes method
    cdef public object url, version, host, content_length, te, connection_tokens
    cdef public object forwarded_for, pending
    cdef public bint keep_alive, expect, request_complete, buffering_request, streaming_body
    cdef public Py_ssize_t host_count, cl_count, te_count, header_bytes, body_received, pending_bytes
    cdef public int body_mode
    # routing and policies
    cdef public object plan, api, operation, params, path
    cdef public bytes request_id
    cdef public Program program
    cdef public Context ctx
    cdef public Run run
    cdef public double t0
    # upstream
    cdef public UpstreamPool pool
    cdef public UpstreamConnection upstream
    cdef public object head, timeout, connecting
    cdef public double upstream_deadline, t_upstream
    cdef public bint retried, forwarded
    cdef public HeaderEdits answer_edits
    # response
    cdef public list out
    cdef public object status, held
    cdef public int out_mode
    cdef public bint held_paused, response_started, done
    cdef public Py_ssize_t bytes_out
