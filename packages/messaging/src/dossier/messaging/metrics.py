"""Prometheus metrics and health endpoints of one service process.

``GET /metrics`` (Prometheus text), ``GET /healthz`` (ready: connected to
NATS, serving, the database answers; 503 with the failing checks otherwise)
and ``GET /livez`` (the event loop still turns). One registry per process
(not prometheus_client's global one), so tests can run several services in
one interpreter.

The same counts feed the ``data`` of each endpoint in nats.micro's
``$SRV.STATS`` answer (`ServiceMetrics.endpoint_stats`): nats.micro times only
our dispatch (each request runs in its own task), so its own figures would
say every request took microseconds and never failed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from attrs import define, field
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


@define
class _Tally:
    requests: int = 0
    errors: dict[str, int] = field(factory=dict)
    seconds: float = 0.0


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dossier_requests",
            "Requests answered, by verb and outcome (ok or the error code).",
            ["service", "verb", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dossier_request_duration_seconds",
            "Time from receiving a request to sending its answer.",
            ["service", "verb"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "dossier_requests_in_flight",
            "Requests being answered now.",
            ["service"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "dossier_outbox_backlog",
            "Events committed but not yet acknowledged by JetStream.",
            ["service"],
            registry=self.registry,
        )
        self.consumer_pending = Gauge(
            "dossier_consumer_pending",
            "Events in the stream this service's durable consumer has not yet received.",
            ["service", "consumer"],
            registry=self.registry,
        )
        self.consumer_unacked = Gauge(
            "dossier_consumer_ack_pending",
            "Events delivered to this service's durable consumer and not yet acknowledged.",
            ["service", "consumer"],
            registry=self.registry,
        )
        self.parked = Gauge(
            "dossier_parked_events",
            "Poison events parked for an operator (the whole DOSSIER_PARKED stream).",
            registry=self.registry,
        )
        self.nats_connected = Gauge(
            "dossier_nats_connected",
            "1 while the process holds a NATS connection.",
            ["service"],
            registry=self.registry,
        )
        self.read_alerts = Counter(
            "dossier_read_alerts",
            "Misuse alerts raised on the read trail (查阅异常), by branch and rule.",
            ["service", "branch", "rule"],
            registry=self.registry,
        )
        self._tallies: dict[str, _Tally] = {}
        self._lock = threading.Lock()

    def read_alert(self, branch: str, rule: str) -> None:
        """Count a misuse alert (`dossier.storage.usecases.UseCases.on_read_alert`)."""
        self.read_alerts.labels(self.service, branch, rule).inc()

    def observe(self, verb: str, outcome: str, seconds: float) -> None:
        self.requests.labels(self.service, verb, outcome).inc()
        self.latency.labels(self.service, verb).observe(seconds)
        with self._lock:
            tally = self._tallies.setdefault(verb, _Tally())
            tally.requests += 1
            tally.seconds += seconds
            if outcome != "ok":
                tally.errors[outcome] = tally.errors.get(outcome, 0) + 1

    def endpoint_stats(self, verb: str) -> dict[str, Any]:
        """What ``$SRV.STATS`` carries as each endpoint's ``data`` (and `dossier status` shows)."""
        with self._lock:
            tally = self._tallies.get(verb, _Tally())
            return {
                "requests": tally.requests,
                "errors": sum(tally.errors.values()),
                "errors_by_code": dict(tally.errors),
                "average_ms": round(1000 * tally.seconds / tally.requests, 3)
                if tally.requests
                else 0.0,
            }


Check = Callable[[], bool]


@define
class Health:
    """Named readiness checks, each a quick synchronous call; and a heartbeat for liveness."""

    checks: Mapping[str, Check]
    stale_after: float = 30.0
    _beat: float = field(factory=time.monotonic)

    def heartbeat(self) -> None:
        self._beat = time.monotonic()

    def alive(self) -> bool:
        return time.monotonic() - self._beat < self.stale_after

    def failing(self) -> list[str]:
        failed = []
        for name, check in self.checks.items():
            try:
                ok = check()
            except Exception:
                ok = False
            if not ok:
                failed.append(name)
        return failed


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not news."""


def _json(start: Callable[..., Any], status: str, body: object) -> Iterable[bytes]:
    payload = json.dumps(body).encode()
    start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


class MetricsServer:
    """The HTTP side, in a daemon thread: ``/metrics``, ``/healthz``, ``/livez``."""

    def __init__(self, metrics: ServiceMetrics, health: Health, host: str, port: int) -> None:
        prometheus = make_wsgi_app(metrics.registry)

        def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path == "/metrics":
                answer: Iterable[bytes] = prometheus(environ, start)
                return answer
            if path == "/healthz":
                failing = health.failing()
                if not health.alive():
                    failing.append("event_loop")
                status = "200 OK" if not failing else "503 Service Unavailable"
                return _json(start, status, {"ok": not failing, "failing": failing})
            if path == "/livez":
                ok = health.alive()
                return _json(start, "200 OK" if ok else "503 Service Unavailable", {"ok": ok})
            return _json(start, "404 Not Found", {"error": "not_found"})

        self._server = make_server(
            host, port, app, server_class=ThreadingWSGIServer, handler_class=_Quiet
        )
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
