"""Signed Standard Webhooks deliveries over HTTP from a few concurrent senders, as an HRIS
with a retrying delivery queue would send them.

Each sender takes the next delivery of the stream in turn and signs it as it goes (the
receiver refuses a timestamp more than five minutes off), over its own keep-alive
connection. So arrival order is the stream's own (duplicates and late events included),
give or take what concurrent senders overtake.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from tools.hris.simulator import standard_webhook_body
from tools.hris.simulator.delivery import Delivery


@dataclass
class SendReport:
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: set[str] = field(default_factory=set)
    """Event ids the service answered 202 (new) or 200 (a duplicate of one it holds)."""
    refused: list[str] = field(default_factory=list)
    started: float = 0.0  # time.monotonic() of the first send
    finished: float = 0.0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    """The first send on the wall clock, which the inbox's timestamps are on too."""

    @property
    def seconds(self) -> float:
        return self.finished - self.started


def signed_delivery(delivery: Delivery, signer: Webhook) -> tuple[str, dict[str, str]]:
    """The body and headers a Standard Webhooks sender posts, signed now."""
    body = json.dumps(standard_webhook_body(delivery.event))
    msg_id = delivery.event.event_id
    now = datetime.now(UTC)
    return body, {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(msg_id, now, body),
    }


def send_stream(
    deliveries: Sequence[Delivery], *, api_url: str, secret: str, senders: int = 4
) -> SendReport:
    """Post every delivery to ``/webhooks/standard``; returns once all are answered."""
    signer = Webhook(secret)
    report = SendReport(started=time.monotonic(), started_at=datetime.now(UTC))
    lock = threading.Lock()
    position = iter(range(len(deliveries)))

    def sender() -> None:
        with httpx.Client(base_url=api_url, timeout=30) as client:
            while True:
                with lock:
                    index = next(position, None)
                if index is None:
                    return
                delivery = deliveries[index]
                body, headers = signed_delivery(delivery, signer)
                status = client.post("/webhooks/standard", content=body, headers=headers)
                with lock:
                    report.statuses[status.status_code] += 1
                    if status.status_code in (200, 202):
                        report.accepted.add(delivery.event.event_id)
                    else:
                        report.refused.append(f"{status.status_code} {status.text[:200]}")

    threads = [threading.Thread(target=sender, name=f"sender-{i}") for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.finished = time.monotonic()
    return report
