"""End-to-end tests of the data plane: real gateway processes, a raw-socket origin, real sockets."""
