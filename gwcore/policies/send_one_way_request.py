"""send-one-way-request: send a request without waiting for its response."""
from gwcore.policies import policy
from gwcore.policies.send_request import RequestFields


@policy("send-one-way-request")
class SendOneWayRequest(RequestFields):
    """Sends a request and goes on at once (fire and forget)."""
