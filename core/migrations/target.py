"""What the migrations aim at: the metadata of every table (``core.schema`` imports them
all). Its own module so that autogenerate, the environment and the agreement test import
one thing."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import core.schema  # noqa: F401  (registers every table on SQLModel.metadata)


def target_metadata() -> MetaData:
    return SQLModel.metadata
