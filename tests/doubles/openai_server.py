"""A local OpenAI-compatible HTTP server that answers from a script, for integration tests.

The real ``ChatOpenAI`` client talks to it over HTTP, so request shapes (tools,
``response_format``, ``tool_choice``), retries on 429/5xx, ``Retry-After`` and timeouts are
exercised for real; only the model's judgement is scripted.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.doubles.local_http import LocalServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MODEL = "local-test-model"


@dataclass
class Reply:
    """One scripted HTTP answer: a body, or an error status, optionally after a delay."""

    body: dict[str, Any] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def _completion(message: dict[str, Any], finish: str) -> Reply:
    return Reply(
        {
            "id": f"chatcmpl-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 15, "total_tokens": 135},
        }
    )


def tool_calls(*calls: tuple[str, dict[str, Any]]) -> Reply:
    return _completion(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{i}_{time.monotonic_ns()}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for i, (name, args) in enumerate(calls)
            ],
        },
        "tool_calls",
    )


def text(content: str) -> Reply:
    return _completion({"role": "assistant", "content": content}, "stop")


def refusal(reason: str = "I can't help with that.") -> Reply:
    return _completion({"role": "assistant", "content": None, "refusal": reason}, "stop")


def error(status: int, *, retry_after: float | None = None) -> Reply:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return Reply({"error": {"message": f"scripted {status}", "type": "test"}}, status, headers)


def slow(reply: Reply, seconds: float) -> Reply:
    return Reply(reply.body, reply.status, reply.headers, seconds)


def _embedding(textual: str, dimension: int = 32) -> list[float]:
    """Deterministic, roughly meaning-free vectors: enough to exercise the embeddings path."""
    digest = hashlib.sha256(textual.lower().encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dimension)]
    norm = sum(v * v for v in raw) ** 0.5
    return [v / norm for v in raw]


def _words(messages: list[dict[str, Any]], *, drop_system: bool) -> int:
    """A stand-in tokenizer: one token a word of every message the template keeps."""
    kept = [m for m in messages if not (drop_system and m.get("role") == "system")]
    return sum(len(str(m.get("content") or "").split()) for m in kept)


class ScriptedOpenAIServer:
    """``count_prompt_tokens``: report prompt_tokens from the request (a word a token) instead
    of a fixed figure; ``drops_system`` then leaves system messages out of the count, as a
    chat template that drops them (llama.cpp's ``gemma``) does."""

    def __init__(self, *, count_prompt_tokens: bool = False, drops_system: bool = False) -> None:
        self.count_prompt_tokens = count_prompt_tokens
        self.drops_system = drops_system
        self.requests: list[dict[str, Any]] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._server = LocalServer(self._app)

    @property
    def base_url(self) -> str:
        return f"{self._server.root_url}/v1"

    def script(self, replies: Iterable[Reply]) -> None:
        with self._lock:
            self._script = list(replies)
            self.requests.clear()

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["_path"].endswith("/chat/completions")]

    def __enter__(self) -> ScriptedOpenAIServer:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def _next(self) -> Reply:
        with self._lock:
            if not self._script:
                return error(500)
            return self._script.pop(0)

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        path = environ.get("PATH_INFO", "")
        with self._lock:
            self.requests.append({"_path": path, **body})
        if path.endswith("/embeddings"):
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            reply = Reply(
                {
                    "object": "list",
                    "model": body.get("model", MODEL),
                    "data": [
                        {"object": "embedding", "index": i, "embedding": _embedding(str(t))}
                        for i, t in enumerate(inputs)
                    ],
                    "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
                }
            )
        else:
            reply = self._next()
            if self.count_prompt_tokens and reply.body and "usage" in reply.body:
                prompt = _words(body.get("messages", []), drop_system=self.drops_system)
                usage = {**reply.body["usage"], "prompt_tokens": prompt}
                usage["total_tokens"] = prompt + int(usage["completion_tokens"])
                reply = Reply(
                    {**reply.body, "usage": usage}, reply.status, reply.headers, reply.delay_s
                )
        if reply.delay_s:
            time.sleep(reply.delay_s)
        payload = json.dumps(reply.body or {}).encode()
        status = f"{reply.status} {'OK' if reply.status == 200 else 'Scripted'}"
        headers = [("content-type", "application/json"), ("content-length", str(len(payload)))]
        start_response(status, headers + list(reply.headers.items()))
        return [payload]
