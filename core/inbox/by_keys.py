"""Statements that read rows by a set of keys (receipt ids, people), for the calls that come
in a single and a batched version: one key reads with ``= :key``, several with ``IN``.

Both forms are built once. The single form is kept because SQLAlchemy renders an expanding
``IN`` again on every execution, which costs ~45 µs of CPU, more than the rest of a small
read; the single versions (one per event on the worker's path) would pay it each time."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement


@dataclass(frozen=True)
class ByKeys:
    one: Select[Any]
    many: Select[Any]

    @classmethod
    def build(
        cls, column: ColumnElement[Any], statement: Callable[[ColumnElement[bool]], Select[Any]]
    ) -> ByKeys:
        """``statement`` given the condition on ``column``, in both forms."""
        return cls(
            one=statement(column == bindparam("key")),
            many=statement(column.in_(bindparam("keys", expanding=True))),
        )

    def execute(
        self, connection: Connection, keys: Sequence[str], params: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        """The rows of ``keys`` (at least one), with the statement's other ``params``."""
        if len(keys) == 1:
            return connection.execute(self.one, {"key": keys[0], **(params or {})})
        return connection.execute(self.many, {"keys": list(keys), **(params or {})})
