"""The AsyncAPI 3 document of Dossier's bus, generated from the contracts (docs/asyncapi.json).

It describes, for a team writing a client in another language: every request
subject (``dossier.<service>.<verb>``) with its request, reply and error
messages and the headers they carry; the domain events relayed to JetStream
(``dossier.events.<branch>.<type>``); the progress events of long jobs
(``dossier.progress.<service>.<kind>.<job>``); and how callers authenticate
(an Ed25519-signed JWT actor token in a header). The same schemas are in each
endpoint's ``$SRV.INFO`` metadata.
"""

from __future__ import annotations

from typing import Any

from dossier.core.contracts import CATALOGUE, Catalogue, Contract
from dossier.core.contracts.schema import ERROR_SCHEMA, schema_of
from dossier.core.events import ALL_EVENTS

VERSION = "0.1.0"

HEADERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "Dossier-Actor": {
            "type": "string",
            "description": "The actor token: a JWT signed with Ed25519 (alg EdDSA); iss and "
            "aud 'dossier'; claims sub (actor id), roles, branches ('*': the chain), sn "
            "(student number, students only), iat, exp, jti; a token bound to its "
            "presenter also carries cnf (the presenter's Ed25519 public key) and via (its "
            "NATS user) (docs/architecture.md).",
        },
        "Dossier-Proof": {
            "type": "string",
            "pattern": "^[0-9]+\\.[A-Za-z0-9_=-]+$",
            "description": "Required with a bound token (one with cnf): '<unix ms>.<base64url "
            "Ed25519 signature>' by the cnf key over the lines subject, unix ms, sha256 hex of "
            "the token, sha256 hex of the body, idempotency key (or empty); within 120 s of "
            "the service's clock, and the reply subject must start with _INBOX_<via>.",
        },
        "Idempotency-Key": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{8,128}$",
            "description": "Required on changing requests: a retry with the same key "
            "answers the first answer; the same key with another body is refused.",
        },
        "Dossier-Request-Id": {
            "type": "string",
            "description": "Echoed on the reply; the job id of a long job's progress.",
        },
        "Accept-Language": {
            "type": "string",
            "description": "zh-CN or en: the language of error messages.",
        },
    },
    "required": ["Dossier-Actor"],
}

REPLY_HEADERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "Dossier-Request-Id": {"type": "string"},
        "Nats-Service-Error-Code": {
            "type": "string",
            "description": "Present on failures only: an HTTP-like status (400, 401, 403, "
            "404, 409, 410, 413, 422, 500, 502, 503).",
        },
        "Nats-Service-Error": {"type": "string", "description": "the error code"},
    },
}

PROGRESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["job", "kind", "stage", "done", "total", "at"],
    "properties": {
        "job": {"type": "string"},
        "kind": {"type": "string"},
        "stage": {"type": "string", "description": "a word; the last event: done or failed"},
        "done": {"type": "integer"},
        "total": {"type": ["integer", "null"]},
        "at": {"type": "string", "format": "date-time"},
    },
}


def _key(verb: str) -> str:
    return verb.replace(".", "_")


def _endpoint(contract: Contract) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The channels, messages and operation of one request/reply endpoint."""
    key = _key(contract.verb)
    channels = {
        key: {
            "address": contract.subject,
            "description": contract.summary,
            "messages": {"request": {"$ref": f"#/components/messages/{key}_request"}},
        },
        f"{key}_reply": {
            "address": None,
            "description": "the requester's inbox (_INBOX_<user>.…)",
            "messages": {
                "reply": {"$ref": f"#/components/messages/{key}_reply"},
                "error": {"$ref": "#/components/messages/error"},
            },
        },
    }
    messages = {
        f"{key}_request": {
            "name": contract.request.__name__,
            "title": contract.verb,
            "summary": contract.summary,
            "headers": HEADERS,
            "payload": schema_of(contract.request, strict=True),
        },
        f"{key}_reply": {
            "name": contract.result.__name__,
            "headers": REPLY_HEADERS,
            "payload": schema_of(contract.result, strict=False),
        },
    }
    operation = {
        key: {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": contract.summary,
            "x-dossier-service": contract.service,
            "x-dossier-operation": contract.operation.value,
            "x-dossier-changes": contract.changes,
            "x-dossier-max-bytes": contract.max_bytes,
            "x-dossier-progress": contract.progress,
            "reply": {"channel": {"$ref": f"#/channels/{key}_reply"}},
        }
    }
    return channels, messages, operation


def document(catalogue: Catalogue = CATALOGUE) -> dict[str, Any]:
    """The whole bus as one AsyncAPI 3.0 document (a plain dict, ready for JSON)."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {"error": {"name": "Error", "payload": ERROR_SCHEMA}}
    operations: dict[str, Any] = {}
    for contract in catalogue:
        more_channels, more_messages, operation = _endpoint(contract)
        channels.update(more_channels)
        messages.update(more_messages)
        operations.update(operation)
    events: dict[str, Any] = {}
    for event in ALL_EVENTS:
        key = f"event_{_key(event.type)}"
        messages[key] = {"name": event.__name__, "payload": schema_of(event, strict=False)}
        events[key] = {"$ref": f"#/components/messages/{key}"}
    channels["events"] = {
        "address": "dossier.events.{branch}.{type}",
        "description": "Domain events, relayed from each service's outbox to the JetStream "
        "stream DOSSIER_EVENTS with Nats-Msg-Id = event id. No personal values.",
        "parameters": {"branch": {}, "type": {}},
        "messages": events,
    }
    messages["progress"] = {"name": "Progress", "payload": PROGRESS_SCHEMA}
    channels["progress"] = {
        "address": "dossier.progress.{service}.{kind}.{job}",
        "description": "Progress of long jobs (contracts with x-dossier-progress): kind is the "
        "verb with '-' for '.', job the body's job_id or the request id. Subscribe before "
        "sending. Stage names and counts only.",
        "parameters": {"service": {}, "kind": {}, "job": {}},
        "messages": {"progress": {"$ref": "#/components/messages/progress"}},
    }
    operations["hear_events"] = {"action": "receive", "channel": {"$ref": "#/channels/events"}}
    operations["hear_progress"] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/progress"},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Dossier",
            "version": VERSION,
            "description": "Student records (学员档案) of chains of language-training schools: "
            "the request/reply endpoints of the intake, approvals and retention services, "
            "their events and progress. Generated from dossier.core.contracts.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": "localhost:4222",
                "protocol": "nats",
                "security": [{"$ref": "#/components/securitySchemes/user"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {
                "user": {
                    "type": "userPassword",
                    "description": "One NATS user per service and client (deploy/nats).",
                }
            },
        },
    }
