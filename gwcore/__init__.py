"""gwcore: a fast, self-hosted API gateway with Azure API Management semantics."""

__version__ = "0.1.0"
