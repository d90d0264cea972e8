"""Errors that leave the policy pipeline for on-error, with APIM's LastError fields."""


class PolicyError(Exception):
    """A policy stopped the request: on-error runs, else the caller gets `status` and `message`.

    `reason` and `source` are APIM's LastError.Reason and LastError.Source (e.g.
    "RateLimitExceeded", "rate-limit"); `headers` go on the default error reply (Retry-After).
    `detail`, when given, is LastError.Message while the reply says `message` (validate-jwt's
    failed-validation-error-message replaces the text the caller sees, not the one on-error reads).
    """

    detail = None

    def __init__(self, status: int, message: str, reason: str, source: str = "", headers: tuple = (),
                 detail: str = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.source = source
        self.headers = headers
        self.detail = detail


class BackendError(PolicyError):
    """The backend could not be reached, timed out, or answered something unusable."""

    def __init__(self, status: int, message: str, reason: str):
        super().__init__(status, message, reason, source="forward-request")


class LastError:
    """`context.last_error` in on-error: what went wrong, where (APIM's context.LastError)."""

    __slots__ = ("source", "reason", "message", "scope", "section", "path", "policy_id", "status")

    def __init__(self, source: str, reason: str, message: str, section: str, status: int, policy_id: str = ""):
        self.source = source
        self.reason = reason
        self.message = message
        self.section = section
        self.scope = ""
        self.path = ""
        self.policy_id = policy_id
        self.status = status
