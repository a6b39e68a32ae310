"""One Chroma client per process: embedded under ``var_dir/chroma`` or a Chroma server.

Chroma's embedded mode is not safe with two processes writing one directory (see NOTES), so
a deployment with several processes sets ``TALENTSYNC_CHROMA_URL`` to a ``chroma run`` server.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings

from core.settings import Settings


def _quiet() -> ChromaSettings:
    """A fresh settings object per client: chromadb's constructors write the server address
    and mode into the one they are given, so a shared one made an embedded client built
    after a remote one talk to that server (and a second server URL raise)."""
    return ChromaSettings(anonymized_telemetry=False)


@cache
def _embedded(path: str) -> ClientAPI:
    return chromadb.PersistentClient(path=path, settings=_quiet())


@cache
def _remote(url: str) -> ClientAPI:
    parts = urlsplit(url)
    return chromadb.HttpClient(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (443 if parts.scheme == "https" else 8000),
        ssl=parts.scheme == "https",
        settings=_quiet(),
    )


def chroma_client(settings: Settings) -> ClientAPI:
    if settings.chroma_url:
        return _remote(settings.chroma_url)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return _embedded(str(settings.chroma_path.resolve()))
