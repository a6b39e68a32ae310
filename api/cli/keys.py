"""`talentsync keys`: API keys for people and scripts, created, listed and revoked."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.database import opened_database
from api.cli.output import console, exit_on, when
from core import api_keys
from core.api_keys import ApiKeyError, Role
from core.settings import get_settings

keys_app = typer.Typer(help="API keys for people and scripts.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. ana.")],
    role: Annotated[Role, typer.Option(help="What the key may do.", case_sensitive=False)],
) -> None:
    """Create an API key; it is printed once and only its hash is kept."""
    with opened_database(get_settings()) as engine, exit_on(ApiKeyError):
        row, token = api_keys.create_key(engine, name=name, role=role)
    console.print(f"[green]Created[/green] {escape(row.name)} ({row.role}):")
    console.print(token, soft_wrap=True, markup=False, highlight=False)  # one unbroken token
    console.print(
        "[yellow]Copy it now: it will not be shown again.[/yellow] "
        "Send it as 'Authorization: Bearer <key>'."
    )


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (prefixes only, never the keys or their hashes)."""
    with opened_database(get_settings()) as engine:
        rows = api_keys.list_keys(engine)
    table = Table(title="API keys")
    for column in ("name", "role", "prefix", "created", "last used", "revoked"):
        table.add_column(column, no_wrap=column in ("name", "role", "prefix"))
    for row in rows:
        table.add_row(
            escape(row.name),
            row.role,
            row.key_prefix + "…",
            when(row.created_at),
            when(row.last_used_at),
            when(row.revoked_at),
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="Whose active key to revoke.")],
) -> None:
    """Revoke a person's active key; it stops working on the next request."""
    with opened_database(get_settings()) as engine, exit_on(ApiKeyError):
        row = api_keys.revoke_key(engine, name=name)
    console.print(f"[green]Revoked[/green] {escape(row.name)}'s key {row.key_prefix}…")
