"""The `talentsync` command line. Output goes through `rich`; logic lives in the layers below.

One module per group of commands (``api.cli.running``, ``api.cli.keys``, ``api.cli.eval``,
...); this one assembles them into the ``app`` the console script runs, in the order
``talentsync --help`` lists them.
"""

from __future__ import annotations

import typer

from api.cli.audit import audit_app
from api.cli.db import db_app
from api.cli.erasure import erase
from api.cli.eval import eval_app
from api.cli.inbox import inbox_status, replay
from api.cli.keys import keys_app
from api.cli.running import demo, lms_sandbox, serve, worker
from api.cli.skills import skills_app
from api.cli.titles import titles_app

__all__ = ["app"]

app = typer.Typer(help="TalentSync: keeps the LMS in step with the HRIS.", no_args_is_help=True)

app.command()(serve)
app.command()(worker)
app.command("lms-sandbox")(lms_sandbox)
app.command()(replay)
app.command("inbox")(inbox_status)
app.command()(demo)
app.command()(erase)

app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(eval_app, name="eval")
app.add_typer(audit_app, name="audit")
app.add_typer(titles_app, name="titles")
app.add_typer(skills_app, name="skills", no_args_is_help=True)
