"""The bus users are one source: the deploy file is generated from them, and they follow the
contracts (every service answers exactly its own requests)."""

from __future__ import annotations

from dossier.core.contracts import CATALOGUE
from dossier.host.bus import SERVICES, bus_users, render_accounts, user
from scripts.nats_accounts import ACCOUNTS


def test_deploy_accounts_are_generated_from_the_bus_users() -> None:
    """Run ``python scripts/nats_accounts.py`` after changing `dossier.host.bus`."""
    assert ACCOUNTS.read_text(encoding="utf-8") == render_accounts()


def test_each_service_alone_may_serve_its_own_requests() -> None:
    for contract in CATALOGUE:
        subject = f"dossier.{contract.service}.>"
        serving = [u.name for u in bus_users() if subject in u.subscribe]
        assert serving == [contract.service]


def test_requesters_may_reach_every_service_and_nothing_of_jetstream() -> None:
    for name in ("gateway", "staff"):
        requester = user(name)
        assert {f"dossier.{s}.>" for s in SERVICES} <= set(requester.publish)
        assert not [s for s in requester.publish if s.startswith("$JS")]
        assert not requester.allow_responses


def test_only_ops_may_delete_purge_or_update_the_event_streams() -> None:
    for bus_user in bus_users():
        for subject in bus_user.publish:
            if bus_user.name == "ops":
                continue
            assert ".DELETE." not in subject, bus_user.name
            assert ".PURGE." not in subject, bus_user.name
            assert not (".UPDATE." in subject and "DOSSIER_EVENTS" in subject), bus_user.name
            assert subject != "$JS.API.>", bus_user.name


def test_every_user_reads_only_its_own_inbox() -> None:
    for bus_user in bus_users():
        inboxes = [s for s in bus_user.subscribe if s.startswith("_INBOX")]
        assert inboxes == [bus_user.inbox]
