"""``python -m api.cli``: how the demo and the tests start the CLI as a child process."""

from api.cli import app

app()
