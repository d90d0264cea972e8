"""The request pipeline: request context, policy runner, expression language and templates."""
