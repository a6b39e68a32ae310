"""The bundled LMS sandbox at customer size: what each SCIM request the provisioning client
sends costs when the LMS already holds N users with their group memberships.

    .venv/bin/python -m bench.lms_sandbox [--users 0,10000,100000] [--samples 200]

For each N the sandbox starts preloaded with N people placed by the catalog's rules (direct
storage writes; the time is printed), then one keep-alive ``httpx.Client`` sends, over real
HTTP, the requests one provisioning event makes: the user lookup by externalId, the user's
groups by ``members.value``, a new hire's POST, a PATCH of a user, a PATCH adding a member
to a group (the catalog's big groups hold every user), and a POST /Bulk of four such PATCHes.
Each kind reports p50/p95 latency, requests/s and this process's CPU time per request (client
and sandbox together: the figure the machine's other load does not move). Client and sandbox
share this process and the machine's two cores, as in ``bench.provisioning``.

    .venv/bin/python -m bench.lms_sandbox --batch 32 [--users 10000] [--rounds 20]

compares instead how a batch lane reads its employees' accounts: ``ScimLMS.read_account``
once per employee against one ``ScimLMS.read_accounts`` of the batch (``or`` filters), each
round on employees not read before. It reports the requests the sandbox saw, the wall time
and the CPU time of the client's thread (the SCIM client alone) and of the rest of the
process (the sandbox's threads), per batch.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from core.catalog import load_catalog
from tools.lms.sandbox import SandboxServer
from tools.lms.sandbox_workforce import preloaded_external_id
from tools.lms.scim import ScimLMS

console = Console()

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
USER_SCHEMAS = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
]
BULK_OPERATIONS = 4


@dataclass
class KindResult:
    kind: str
    samples: list[float]
    elapsed: float
    cpu_s: float  # this process's CPU time: client and sandbox, whatever else the machine runs

    def percentile(self, q: int) -> float:
        if len(self.samples) < 2:
            return self.samples[0] if self.samples else float("nan")
        return statistics.quantiles(self.samples, n=100)[q - 1]

    @property
    def per_s(self) -> float:
        return len(self.samples) / self.elapsed if self.elapsed else float("nan")

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s * 1000 / len(self.samples) if self.samples else float("nan")


def new_hire(index: int) -> dict[str, Any]:
    """A user as TalentSync creates one (tools.lms.scim_mapping.user_resource's shape)."""
    email = f"bench.hire{index}@example.com"
    return {
        "schemas": USER_SCHEMAS,
        "userName": email,
        "externalId": f"BENCH-{index:06d}",
        "name": {"givenName": "Bench", "familyName": f"Hire{index}"},
        "displayName": f"Bench Hire{index}",
        "title": "Software Developers",
        "userType": "employee",
        "active": True,
        "emails": [{"value": email, "type": "work", "primary": True}],
        USER_SCHEMAS[1]: {"employeeNumber": f"BENCH-{index:06d}", "department": "Engineering"},
    }


def add_member(user_id: str) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
    }


def measure(
    kind: str, count: int, budget_s: float, send: Callable[[int], httpx.Response]
) -> KindResult:
    samples: list[float] = []
    started = time.perf_counter()
    cpu_started = time.process_time()
    for index in range(count):
        t0 = time.perf_counter()
        response = send(index)
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status_code >= 300:
            raise RuntimeError(f"{kind}: {response.status_code} {response.text[:300]}")
        if time.perf_counter() - started > budget_s:
            break
    return KindResult(
        kind, samples, time.perf_counter() - started, time.process_time() - cpu_started
    )


def bench_size(
    users: int, samples: int, budget_s: float
) -> tuple[tuple[float, float], list[KindResult]]:
    catalog = load_catalog()
    t0, cpu0 = time.perf_counter(), time.process_time()
    sandbox = SandboxServer(catalog, preload=users)
    preload_s = (time.perf_counter() - t0, time.process_time() - cpu0)
    rng = random.Random(users)
    results: list[KindResult] = []
    with sandbox, httpx.Client(base_url=sandbox.base_url, timeout=600) as http:
        scim = {"Content-Type": "application/scim+json"}
        groups = {
            g["externalId"]: g["id"]
            for g in http.get(
                "/Groups", params={"count": 1000, "attributes": "displayName,externalId"}
            ).json()["Resources"]
        }
        group_ids = list(groups.values())
        http.get("/Users", params={"filter": 'externalId eq "warm-up"'})

        created: list[str] = []

        def create(i: int) -> httpx.Response:
            response = http.post("/Users", json=new_hire(i), headers=scim)
            created.append(response.json()["id"])
            return response

        results.append(measure("POST /Users (new hire)", samples, budget_s, create))

        external_ids = (
            [preloaded_external_id(rng.randrange(users)) for _ in range(samples)]
            if users
            else [f"BENCH-{i % len(created):06d}" for i in range(samples)]
        )
        found: list[str] = []

        def find(i: int) -> httpx.Response:
            response = http.get("/Users", params={"filter": f'externalId eq "{external_ids[i]}"'})
            found.extend(r["id"] for r in response.json()["Resources"])
            return response

        results.append(measure("GET /Users?filter=externalId eq", samples, budget_s, find))
        targets = found or created

        def groups_of(i: int) -> httpx.Response:
            return http.get(
                "/Groups",
                params={
                    "filter": f'members.value eq "{targets[i % len(targets)]}"',
                    "attributes": "displayName,externalId",
                },
            )

        results.append(measure("GET /Groups?filter=members.value eq", samples, budget_s, groups_of))

        def patch_user(i: int) -> httpx.Response:
            body = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "value": {"title": f"Title {i}"}}],
            }
            return http.patch(f"/Users/{targets[i % len(targets)]}", json=body, headers=scim)

        results.append(measure("PATCH /Users/{id}", samples, budget_s, patch_user))

        everyone = groups["everyone"]

        def patch_group(i: int) -> httpx.Response:
            user_id = created[i % len(created)]
            return http.patch(f"/Groups/{everyone}", json=add_member(user_id), headers=scim)

        results.append(measure("PATCH /Groups/{id} (add member)", samples, budget_s, patch_group))

        def bulk(i: int) -> httpx.Response:
            user_id = created[i % len(created)]
            operations = [
                {
                    "method": "PATCH",
                    "path": f"/Groups/{group_ids[(i + k) % len(group_ids)]}",
                    "data": add_member(user_id),
                }
                for k in range(BULK_OPERATIONS)
            ]
            body = {"schemas": [BULK_REQUEST], "Operations": operations}
            return http.post("/Bulk", json=body, headers=scim)

        results.append(
            measure(f"POST /Bulk ({BULK_OPERATIONS} group PATCHes)", samples, budget_s, bulk)
        )
    return preload_s, results


@dataclass
class BatchResult:
    mode: str
    batches: int
    requests: int
    wall_s: float
    client_cpu_s: float  # the calling thread: the SCIM client
    process_cpu_s: float  # the whole process: client and sandbox

    def per_batch(self, value: float) -> float:
        return value / self.batches if self.batches else float("nan")


def bench_batch_reads(users: int, batch: int, rounds: int) -> list[BatchResult]:
    """Read ``rounds`` batches of ``batch`` preloaded employees one by one, then as many
    other batches with ``read_accounts``; every employee is read once (no warm caches)."""
    if users < 2 * batch * (rounds + 1):
        raise SystemExit(f"--users must be at least {2 * batch * (rounds + 1)} for this batch")
    catalog = load_catalog()
    picked = random.Random(users).sample(range(users), 2 * batch * (rounds + 1))
    ids = [preloaded_external_id(i) for i in picked]
    batches = [ids[i : i + batch] for i in range(0, len(ids), batch)]
    modes: list[tuple[str, Callable[[ScimLMS, list[str]], int]]] = [
        ("read_account each", lambda lms, b: sum(lms.read_account(e) is not None for e in b)),
        ("read_accounts", lambda lms, b: len(lms.read_accounts(b))),
    ]
    results = []
    with SandboxServer(catalog, preload=users) as sandbox, ScimLMS(sandbox.base_url) as lms:
        for number, (mode, read) in enumerate(modes):
            own = batches[number * (rounds + 1) : (number + 1) * (rounds + 1)]
            if read(lms, own[0]) != batch:  # warm-up: connection, config, learned groups
                raise RuntimeError(f"{mode}: the warm-up batch was not found whole")
            sandbox.app.requests.clear()
            started, cpu, thread_cpu = time.perf_counter(), time.process_time(), time.thread_time()
            for ids_of_batch in own[1:]:
                if read(lms, ids_of_batch) != batch:
                    raise RuntimeError(f"{mode}: a batch was not found whole")
            thread_cpu = time.thread_time() - thread_cpu
            seen = sandbox.app.requests.snapshot()["requests"]
            results.append(
                BatchResult(
                    mode,
                    rounds,
                    sum(seen.values()),
                    time.perf_counter() - started,
                    thread_cpu,
                    time.process_time() - cpu,
                )
            )
    return results


def print_batch_reads(users: int, batch: int, rounds: int) -> None:
    load_before = os.getloadavg()
    results = bench_batch_reads(users, batch, rounds)
    table = Table(
        title=(
            f"Reading a batch of {batch} LMS accounts (per batch, {rounds} batches each way), "
            f"sandbox with {users:,} preloaded users, keep-alive httpx client, this machine"
        )
    )
    columns = ("how", "requests", "wall ms", "client CPU ms", "sandbox CPU ms")
    for column in columns:
        table.add_column(column, justify="left" if column == "how" else "right")
    for r in results:
        table.add_row(
            r.mode,
            f"{r.per_batch(r.requests):.1f}",
            f"{r.per_batch(r.wall_s) * 1000:.1f}",
            f"{r.per_batch(r.client_cpu_s) * 1000:.1f}",
            f"{r.per_batch(r.process_cpu_s - r.client_cpu_s) * 1000:.1f}",
        )
    console.print(table)
    console.print(
        f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in load_before)}"
        f" before, {' '.join(f'{x:.2f}' for x in os.getloadavg())} after"
    )


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", default="0,10000,100000", help="comma-separated sizes")
    parser.add_argument("--samples", type=int, default=200, help="requests per kind")
    parser.add_argument("--budget-s", type=float, default=30.0, help="stop a kind after this long")
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="compare reading this many accounts one by one "
        "with read_accounts instead (with --users 10000 unless given)",
    )
    parser.add_argument("--rounds", type=int, default=20, help="batches per way, with --batch")
    args = parser.parse_args()
    if args.batch:
        sizes = "10000" if args.users == parser.get_default("users") else args.users
        for users in (int(n) for n in sizes.split(",")):
            print_batch_reads(users, args.batch, args.rounds)
        return
    for users in (int(n) for n in args.users.split(",")):
        load_before = os.getloadavg()[0]
        (preload_wall, preload_cpu), results = bench_size(users, args.samples, args.budget_s)
        table = Table(
            title=(
                f"LMS sandbox with {users:,} preloaded users (preload {preload_wall:.1f} s, "
                f"{preload_cpu:.1f} s CPU), keep-alive httpx client, this machine"
            )
        )
        for column in ("request", "n", "p50 ms", "p95 ms", "req/s", "CPU ms/req"):
            table.add_column(column, justify="left" if column == "request" else "right")
        for result in results:
            table.add_row(
                result.kind,
                str(len(result.samples)),
                f"{result.percentile(50):.2f}",
                f"{result.percentile(95):.2f}",
                f"{result.per_s:.0f}",
                f"{result.cpu_ms:.2f}",
            )
        console.print(table)
        console.print(
            f"machine: {os.cpu_count()} cores, load average {load_before:.2f} before, "
            f"{os.getloadavg()[0]:.2f} after; peak RSS of this process {rss_mb():.0f} MB"
        )


if __name__ == "__main__":
    main()
