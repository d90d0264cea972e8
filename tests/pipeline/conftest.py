"""A fake request context of plain classes, with the attribute names the expression language documents."""
import json

import pytest


class Headers:
    """Case-insensitive header lookup, as the real context gives it."""

    def __init__(self, items: dict):
        self._items = {name.lower(): value for name, value in items.items()}

    def get(self, name, default=None):
        return self._items.get(name.lower(), default)

    def __iter__(self):
        return iter(self._items)


class Body:
    """Text and JSON of a message, read on demand."""

    def __init__(self, text: str):
        self.text = text

    @property
    def json(self):
        return json.loads(self.text)


class Namespace:
    def __init__(self, **fields):
        self.__dict__.update(fields)


def make_context(**overrides):
    request = Namespace(
        method="POST", ip="203.0.113.7",
        url=Namespace(path="/inventory/v1/items/42", query={"view": "full", "page": "2"}),
        headers=Headers({"X-Tier": "gold", "Content-Type": "application/json"}),
        matched_parameters={"id": "42"},
        body=Body('{"name": "widget", "tags": ["a", "b"], "count": 3}'),
    )
    context = Namespace(
        request=request,
        response=Namespace(status_code=201, headers=Headers({"Location": "/items/42"})),
        subscription=Namespace(id="alice", name="Alice", key="k" * 20),
        product=Namespace(name="starter"), api=Namespace(name="inventory", id="inventory"),
        operation=Namespace(id="get-item", method="GET"),
        variables={"count": 3, "name": "bob", "items": [1, 2, 3]},
        request_id="0f0e0d", last_error=None,
        jwt={"sub": "user-1", "roles": ["reader", "writer"], "exp": 1700000000},
    )
    context.__dict__.update(overrides)
    return context


@pytest.fixture
def context():
    return make_context()
