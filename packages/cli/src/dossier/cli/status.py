"""`dossier status`: which services answer, how many instances, their request rates and errors.

It asks ``$SRV.STATS`` twice, ``interval`` seconds apart, and gathers every
instance's answer; the request rate is the difference between the two
samples. The counts come from each endpoint's ``data`` (the service's own
tally, see `dossier.messaging.metrics`): nats.micro's own figures time only
the dispatch of a request, not its answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import asdict, frozen

from dossier.messaging.connection import NatsSettings, connect


@frozen(kw_only=True)
class EndpointStatus:
    verb: str
    requests: int
    errors: int
    errors_by_code: dict[str, int]
    average_ms: float
    rate: float


@frozen(kw_only=True)
class InstanceStatus:
    service: str
    instance: str
    version: str
    uptime_s: float
    requests: int
    errors: int
    rate: float
    endpoints: tuple[EndpointStatus, ...]


@frozen(kw_only=True)
class Status:
    instances: tuple[InstanceStatus, ...]
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "missing": list(self.missing),
            "instances": [asdict(i) for i in self.instances],
        }


async def _gather(nc: Any, subject: str, quiet: float) -> list[dict[str, Any]]:
    """Every answer to one discovery request, until ``quiet`` seconds pass without one."""
    inbox = nc.new_inbox()
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    async def heard(msg: Any) -> None:
        if msg.data:  # an empty message is the server's "no responders"
            await answers.put(msg.data)

    subscription = await nc.subscribe(inbox, cb=heard)
    await nc.publish(subject, b"", reply=inbox)
    found: list[dict[str, Any]] = []
    try:
        while True:
            found.append(json.loads(await asyncio.wait_for(answers.get(), quiet)))
    except TimeoutError:
        pass
    finally:
        await subscription.unsubscribe()
    return found


def _endpoint_counts(endpoint: dict[str, Any]) -> dict[str, Any]:
    data = endpoint.get("data") or {}
    return {
        "requests": int(data.get("requests", endpoint.get("num_requests", 0))),
        "errors": int(data.get("errors", endpoint.get("num_errors", 0))),
        "errors_by_code": dict(data.get("errors_by_code", {})),
        "average_ms": float(data.get("average_ms", 0.0)),
    }


def _started(stats: dict[str, Any]) -> float:
    text = str(stats.get("started", ""))
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - when).total_seconds())


def summarise(
    first: Iterable[dict[str, Any]],
    second: Iterable[dict[str, Any]],
    elapsed: float,
    expected: Sequence[str],
) -> Status:
    """Instances from the second sample, rates from the difference with the first."""
    before = {
        (s["id"], e["name"]): _endpoint_counts(e)["requests"]
        for s in first
        for e in s.get("endpoints") or []
    }
    instances = []
    for stats in second:
        endpoints = []
        for endpoint in stats.get("endpoints") or []:
            counts = _endpoint_counts(endpoint)
            earlier = before.get((stats["id"], endpoint["name"]), counts["requests"])
            rate = (counts["requests"] - earlier) / elapsed if elapsed > 0 else 0.0
            verb = str(endpoint.get("subject", endpoint["name"])).split(".", 2)[-1]
            endpoints.append(EndpointStatus(verb=verb, rate=round(rate, 2), **counts))
        instances.append(
            InstanceStatus(
                service=str(stats["name"]).removeprefix("dossier-"),
                instance=str(stats["id"]),
                version=str(stats.get("version", "")),
                uptime_s=round(_started(stats), 1),
                requests=sum(e.requests for e in endpoints),
                errors=sum(e.errors for e in endpoints),
                rate=round(sum(e.rate for e in endpoints), 2),
                endpoints=tuple(sorted(endpoints, key=lambda e: e.verb)),
            )
        )
    instances.sort(key=lambda i: (i.service, i.instance))
    answering = {i.service for i in instances}
    return Status(
        instances=tuple(instances), missing=tuple(s for s in expected if s not in answering)
    )


async def collect(
    settings: NatsSettings, expected: Sequence[str], interval: float = 1.0, quiet: float = 0.5
) -> Status:
    nc = await asyncio.wait_for(connect(settings, "dossier-status"), 10)
    try:
        first = await _gather(nc, "$SRV.STATS", quiet)
        started = time.monotonic()
        await asyncio.sleep(interval)
        second = await _gather(nc, "$SRV.STATS", quiet)
        elapsed = time.monotonic() - started
    finally:
        await nc.close()
    return summarise(
        [s for s in first if str(s.get("name", "")).startswith("dossier-")],
        [s for s in second if str(s.get("name", "")).startswith("dossier-")],
        elapsed,
        expected,
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def render(status: Status, endpoints: bool = False) -> str:
    lines = [
        f"{'service':<10} {'instance':<24} {'version':<8} {'uptime':>8} "
        f"{'requests':>9} {'req/s':>7} {'errors':>7}"
    ]
    for i in status.instances:
        lines.append(
            f"{i.service:<10} {i.instance:<24} {i.version:<8} {_duration(i.uptime_s):>8} "
            f"{i.requests:>9} {i.rate:>7.2f} {i.errors:>7}"
        )
        for e in i.endpoints if endpoints else ():
            codes = ", ".join(f"{code} {n}" for code, n in sorted(e.errors_by_code.items()))
            lines.append(
                f"  {e.verb:<32} {e.requests:>9} {e.rate:>7.2f} {e.errors:>7}"
                f"  avg {e.average_ms:.1f} ms{'  (' + codes + ')' if codes else ''}"
            )
    for service in status.missing:
        lines.append(f"{service:<10} (no instance answers)")
    return "\n".join(lines)
