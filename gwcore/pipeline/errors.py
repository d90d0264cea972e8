"""Errors that leave the policy pipeline for on-error, with APIM's LastError fields."""


class PolicyError(Exception):
    """A policy stopped the request: on-error runs, else the caller gets `status` and `message`.

    `reason` and `source` are APIM's LastError.Reason and LastError.Source (e.g.
    "RateLimitExceeded", "rate-limit"); `headers` go on the default error reply (Retry-After).
    `last_message` is LastError.Message when APIM's differs from the reply's (check-header answers
    with the configured message; on-error reads "Header x was not found in the request. ...").
    """

    def __init__(self, status: int, message: str, reason: str, source: str = "", headers: tuple = (),
                 last_message: str = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.source = source
        self.headers = headers
        self.last_message = message if last_message is None else last_message


class BackendError(PolicyError):
    """The backend could not be reached, timed out, or answered something unusable."""

    def __init__(self, status: int, message: str, reason: str):
        super().__init__(status, message, reason, source="forward-request")


class LastError:
    """`context.last_error` in on-error: what went wrong, where (APIM's context.LastError).

    `scope`, `path` and `policy_id` locate the statement that failed (docs/expressions.md,
    "context.last_error"); all three are empty when no statement did (a missing key, no route).
    """

    __slots__ = ("source", "reason", "message", "scope", "section", "path", "policy_id", "status")

    def __init__(self, source: str, reason: str, message: str, section: str, status: int,
                 scope: str = "", path: str = "", policy_id: str = ""):
        self.source = source
        self.reason = reason
        self.message = message
        self.section = section
        self.scope = scope
        self.path = path
        self.policy_id = policy_id
        self.status = status
