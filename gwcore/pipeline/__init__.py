"""The policy pipeline: per-request context, the step runner, subscriptions and expressions."""
