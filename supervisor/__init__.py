"""The master process: slots, sockets, signals, reload, watchdog (installed as gwcore.supervisor)."""

# Exit status of a worker that could not start (bad import, bad config, ...): the
# supervisor stops with the worker's message instead of restarting it in a loop.
WORKER_BOOT_ERROR = 3
