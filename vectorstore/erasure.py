"""Erasing one person from the vector store: every entry learned from their record.

Entries carry the person's pseudonym (never their id) as ``subject`` metadata, which is
what makes this a metadata delete rather than a scan of every document.
"""

from __future__ import annotations

import logging

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from vectorstore import memory, reasoning

log = logging.getLogger(__name__)

PERSONAL_COLLECTIONS = (memory.COLLECTION, reasoning.COLLECTION)


def forget_subject(client: ClientAPI, subject: str) -> int:
    """Across every embedder's copy of the personal collections (see ``collection_name``)."""
    deleted = 0
    for name in _personal_collection_names(client):
        try:
            collection = client.get_collection(name)
        except NotFoundError:
            continue
        found = collection.get(where={"subject": subject}, include=[])
        if found["ids"]:
            collection.delete(ids=found["ids"])
            deleted += len(found["ids"])
    return deleted


def _personal_collection_names(client: ClientAPI) -> list[str]:
    names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    return [n for n in names if n in PERSONAL_COLLECTIONS or n.startswith(_PREFIXES)]


_PREFIXES = tuple(f"{base}-" for base in PERSONAL_COLLECTIONS)
