"""Responses the gateway writes itself: APIM-worded JSON errors and the health endpoints."""
from http import HTTPStatus

import orjson

REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}

NOT_FOUND = "Resource not found"
BACKEND_UNAVAILABLE = "Backend service unavailable"
BACKEND_TIMEOUT = "Backend service timed out"


STATUS_LINES = {status: b"HTTP/1.1 %d %s\r\n" % (status, phrase) for status, phrase in REASONS.items()}


def status_line(status: int, reason: str = None) -> bytes:
    """`HTTP/1.1 200 OK`; a reason a policy set must not smuggle a line break."""
    if reason is None:
        line = STATUS_LINES.get(status)
        if line is not None:
            return line
        return b"HTTP/1.1 %d Unknown\r\n" % status
    phrase = reason.encode("latin-1", "replace").replace(b"\r", b" ").replace(b"\n", b" ")
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


def json_response(status: int, body: bytes, *, close: bool, request_id: bytes = b"",
                  request_id_header: bytes = b"", extra: tuple = (), head_only: bool = False) -> bytes:
    """A complete HTTP/1.1 response with a JSON body, as one bytes object."""
    parts = [status_line(status), b"content-type: application/json; charset=utf-8\r\n",
             b"content-length: %d\r\n" % len(body)]
    if request_id:
        parts.append(request_id_header + b": " + request_id + b"\r\n")
    for name, value in extra:
        parts.append(name + b": " + value + b"\r\n")
    parts.append(b"connection: close\r\n\r\n" if close else b"\r\n")
    if not head_only:
        parts.append(body)
    return b"".join(parts)


def error_body(status: int, message: str) -> bytes:
    return orjson.dumps({"statusCode": status, "message": message})
