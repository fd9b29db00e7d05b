"""Who may say what on the bus (总线用户与权限): the one source of NATS users and permissions.

Every install runs under these users: `render_accounts` writes
``deploy/nats/accounts.conf`` (``scripts/nats_accounts.py``; a unit test keeps
the file current) and the embedded server's configuration of ``dossier up``
and of every test stack (`write_server_config`). Each user's secret is a
variable, ``$NATS_<USER>_PASSWORD``: production injects it from its secret
store, the embedded server is started with it from the data folder's
``nats-users/`` (one file per user, 0600, written by `ensure_secrets`), and a
process signs in with its own file (`Config.bus`).

What each user may do is least privilege, derived from the contracts where it
can be:

- the services answer only their own requests (subscribing ``dossier.<service>.>``
  is the only way to serve them, so no other user can join their queue group or
  pose as them in ``$SRV``), reply only to requests they received
  (``allow_responses``), publish domain events and their own progress, and use
  the JetStream API for their own streams and durable consumers only: info and
  create, never update, purge or delete;
- the gateway and staff clients send requests and read progress and discovery;
- the edge inbox runs its stream and durable consumer;
- ops runs the JetStream API (creating replicated streams, inspecting parked
  messages) and nothing else;
- every user receives replies on its own inbox prefix, ``_INBOX_<user>.>``
  (`dossier.messaging.connection.inbox_prefix`), so nobody reads another's answers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

from attrs import frozen

from dossier.core.contracts import CATALOGUE
from dossier.messaging.events import EVENTS_STREAM, PARKED_PREFIX, PARKED_STREAM

ACCOUNT = "DOSSIER"
SYSTEM_ACCOUNT = "SYS"

RETENTION_DESTRUCTION = "retention-destruction"
"""The retention service's durable consumer of approved destructions."""

EDGE_INBOX_STREAM = "DOSSIER_EDGE_INBOX"
EDGE_INBOX_DURABLE = "dossier-edge-inbox"

SERVICES: tuple[str, ...] = tuple(sorted({contract.service for contract in CATALOGUE}))


@frozen
class BusUser:
    """One NATS user: who runs as it, and the subjects it may publish and subscribe to."""

    name: str
    runs: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = False

    @property
    def secret_variable(self) -> str:
        return f"NATS_{self.name.upper().replace('-', '_')}_PASSWORD"

    @property
    def inbox(self) -> str:
        return f"_INBOX_{self.name}.>"


def _durable(stream: str, durable: str) -> tuple[str, ...]:
    """The JetStream API calls one durable pull consumer needs, and its acks and parking."""
    api = "$JS.API.CONSUMER"
    return (
        f"{api}.INFO.{stream}.{durable}",
        f"{api}.CREATE.{stream}.{durable}",
        f"{api}.CREATE.{stream}.{durable}.>",
        f"{api}.DURABLE.CREATE.{stream}.{durable}",
        f"{api}.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
        f"{PARKED_PREFIX}.{durable}",
    )


_OWN_STREAMS = (EVENTS_STREAM, PARKED_STREAM)


def _service(name: str, durables: Iterable[str] = ()) -> BusUser:
    """A service: its requests, its discovery, events, its progress, its streams and consumers."""
    jetstream = (
        *(
            f"$JS.API.STREAM.{verb}.{stream}"
            for stream in _OWN_STREAMS
            for verb in ("INFO", "CREATE")
        ),
        f"$JS.API.CONSUMER.LIST.{EVENTS_STREAM}",
        *(subject for durable in durables for subject in _durable(EVENTS_STREAM, durable)),
    )
    return BusUser(
        name=name,
        runs=f"the {name} service (dossier-run {name})",
        publish=("dossier.events.>", f"dossier.progress.{name}.>", *jetstream),
        subscribe=(
            f"dossier.{name}.>",
            "$SRV.PING",
            "$SRV.INFO",
            "$SRV.STATS",
            f"$SRV.*.dossier-{name}",
            f"$SRV.*.dossier-{name}.*",
            f"_INBOX_{name}.>",
        ),
        allow_responses=True,
    )


def _requester(name: str, runs: str) -> BusUser:
    """Sends requests to the services, follows long jobs' progress, reads discovery."""
    return BusUser(
        name=name,
        runs=runs,
        publish=(*(f"dossier.{service}.>" for service in SERVICES), "$SRV.>"),
        subscribe=("dossier.progress.>", f"_INBOX_{name}.>"),
    )


def bus_users() -> tuple[BusUser, ...]:
    """Every user of the ``DOSSIER`` account, in the order the configuration lists them."""
    durables: Mapping[str, tuple[str, ...]] = {"retention": (RETENTION_DESTRUCTION,)}
    edge_inbox = "edge-inbox"
    return (
        *(_service(name, durables.get(name, ())) for name in SERVICES),
        _requester("gateway", "the web gateway (dossier-run gateway)"),
        _requester("staff", "staff clients: the dossier command, scripts"),
        BusUser(
            name=edge_inbox,
            runs="headquarters' edge inbox (dossier-run edge-inbox)",
            publish=(
                *(
                    f"$JS.API.STREAM.{verb}.{EDGE_INBOX_STREAM}"
                    for verb in ("INFO", "CREATE", "UPDATE")
                ),
                f"$JS.API.STREAM.INFO.{PARKED_STREAM}",
                f"$JS.API.STREAM.CREATE.{PARKED_STREAM}",
                *_durable(EDGE_INBOX_STREAM, EDGE_INBOX_DURABLE),
            ),
            subscribe=(f"_INBOX_{edge_inbox}.>",),
        ),
        BusUser(
            name="ops",
            runs="operators' jobs: creating replicated streams, inspecting parked messages",
            publish=("$JS.API.>", f"$JS.ACK.{PARKED_STREAM}.>", "$SRV.>"),
            subscribe=("_INBOX_ops.>",),
        ),
    )


SYSTEM_USER = "sys"


def user(name: str) -> BusUser:
    for candidate in bus_users():
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def _quoted(subjects: Iterable[str]) -> str:
    return ", ".join(f'"{subject}"' for subject in subjects)


def _render_user(bus_user: BusUser) -> str:
    lines = [
        "            {",
        f"                # {bus_user.runs}",
        f"                user: {bus_user.name}",
        f"                password: ${bus_user.secret_variable}",
        "                permissions: {",
        "                    publish: { allow: [",
        *(f'                        "{subject}",' for subject in bus_user.publish),
        "                    ] }",
        "                    subscribe: { allow: [",
        *(f'                        "{subject}",' for subject in bus_user.subscribe),
        "                    ] }",
    ]
    if bus_user.allow_responses:
        lines.append("                    allow_responses: true")
    lines += ["                }", "            }"]
    return "\n".join(lines)


HEADER = """\
# Dossier — NATS accounts, users and permissions.
#
# GENERATED by scripts/nats_accounts.py from dossier.host.bus — edit that, not this file.
# The embedded server of `dossier up` and every test stack run the same text.
#
# Passwords come from the environment, one variable a user; nothing secret is here.
# Use URL-safe values (e.g. `openssl rand -hex 24`).
"""


def render_accounts(users: Iterable[BusUser] | None = None) -> str:
    """The ``accounts`` block of a nats-server configuration (with ``system_account``)."""
    chosen = tuple(bus_users() if users is None else users)
    body = "\n".join(_render_user(u) for u in chosen)
    sys_variable = f"NATS_{SYSTEM_USER.upper()}_PASSWORD"
    return "\n".join(
        [
            HEADER,
            f"system_account: {SYSTEM_ACCOUNT}",
            "",
            "accounts {",
            f"    {ACCOUNT} {{",
            "        jetstream: enabled",
            "        users: [",
            body,
            "        ]",
            "    }",
            f"    {SYSTEM_ACCOUNT} {{",
            f"        users: [ {{ user: {SYSTEM_USER}, password: ${sys_variable} }} ]",
            "    }",
            "}",
            "",
        ]
    )


def secret_variables() -> dict[str, str]:
    """Each user's name by the variable that carries its password."""
    named = {u.secret_variable: u.name for u in bus_users()}
    named[f"NATS_{SYSTEM_USER.upper()}_PASSWORD"] = SYSTEM_USER
    return named


def ensure_secrets(folder: Path) -> None:
    """A password file (0600) for every user that has none yet, in ``folder`` (0700)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for name in secret_variables().values():
        path = folder / name
        if path.exists():
            continue
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(24) + "\n")


def read_secret(folder: Path, name: str) -> str:
    return (folder / name).read_text().strip()


def server_environment(folder: Path) -> dict[str, str]:
    """The variables the embedded nats-server reads its users' passwords from."""
    return {variable: read_secret(folder, name) for variable, name in secret_variables().items()}


def write_server_config(path: Path) -> Path:
    """The embedded server's configuration: the accounts above (secrets come by environment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(render_accounts())
    return path
