"""The worker process: listener, HTTP protocol, exchanges, drain (installed as gwcore.workers)."""
