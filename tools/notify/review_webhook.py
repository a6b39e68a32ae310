"""Review notifications to a Slack-compatible incoming webhook (Slack, Mattermost, Teams
workflows, Rocket.Chat all accept ``{"text": ...}``).

Messages carry the review id, rules and a link, never personal data: chat channels are
outside the firewall. A failed notification is logged and dropped: it must never hold up
provisioning, and the queue itself is the source of truth.
"""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)


class ReviewNotifier:
    def __init__(
        self, url: str | None, *, base_url: str, client: httpx.Client | None = None
    ) -> None:
        self._url = url
        self._base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=5)

    @property
    def enabled(self) -> bool:
        return self._url is not None

    def review_opened(
        self, *, review_id: str, rules: list[str], approvals: int, due_at: datetime
    ) -> None:
        self._send(
            f"Review {review_id} waits for {approvals} approval(s): {', '.join(rules)}. "
            f"Due {due_at:%Y-%m-%d %H:%M} UTC. {self._link(review_id)}"
        )

    def review_overdue(
        self, *, review_id: str, action: str, rules: list[str], due_at: datetime
    ) -> None:
        verb = "was rejected automatically" if action == "expired" else "is overdue"
        self._send(
            f"Review {review_id} ({', '.join(rules)}) {verb}: it was due "
            f"{due_at:%Y-%m-%d %H:%M} UTC. {self._link(review_id)}"
        )

    def _link(self, review_id: str) -> str:
        return f"{self._base_url}/ui/reviews/{review_id}"

    def _send(self, text: str) -> None:
        if self._url is None:
            return
        try:
            self._post({"text": text})
        except httpx.HTTPError as error:
            log.warning("review notification not delivered: %s", type(error).__name__)

    @retry(
        retry=retry_if_exception_type(httpx.HTTPError),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.2, max=2),
        reraise=True,
    )
    def _post(self, body: dict[str, str]) -> None:
        assert self._url is not None
        self._client.post(self._url, json=body).raise_for_status()
