"""TLS: the listener's contexts chosen by SNI, client certificates, contexts for https backends."""
