"""The upstream side against real local servers: the one-shot HTTP client."""
