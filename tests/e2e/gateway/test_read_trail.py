"""查阅记录 through the gateway (issue 19, part 1): an officer's read of a dossier appears on the
student's "who viewed my record" page (display name and role) and on the auditor's page; a
front-desk clerk's masked read does not. The alerts page opens for the branch manager and
the auditor, not for a clerk.

HTTP-level against the real gateway and services, one site for the module.
"""

from __future__ import annotations

from dossier.core.policy import Role
from tests.e2e.gateway.conftest import Site
from tests.e2e.gateway.hostile import csrf_of, signed_in
from tests.e2e.gateway.test_browser_student_support import new_student
from tests.e2e.gateway.test_hardening import activated

NAME = "孙查阅"


def test_an_officers_read_is_shown_to_the_student_and_the_auditor_a_clerks_is_not(
    site: Site,
) -> None:
    number = new_student(site, name=NAME)
    officer = signed_in(site, site.staff("officer-reads", Role.ENROLMENT_OFFICER))
    clerk = signed_in(site, site.staff("clerk-reads", Role.FRONT_DESK))
    seen = officer.get(f"/staff/dossiers/{number}")
    assert seen.status_code == 200
    assert NAME in seen.text  # unmasked for the officer: recorded
    masked = clerk.get(f"/staff/dossiers/{number}")
    assert masked.status_code == 200
    assert NAME not in masked.text  # masked for the front desk: not a disclosure

    student = activated(site, site.invite(number))
    mine = student.get(f"{site.base}/me/reads?lang=en")
    assert mine.status_code == 200
    assert 'data-viewer="officer-reads"' in mine.text
    assert "enrolment officer" in mine.text
    assert "clerk-reads" not in mine.text
    assert "web:officer-reads" not in mine.text  # the display name only

    auditor = signed_in(site, site.staff("auditor-reads", Role.AUDITOR))
    trail = auditor.get(f"/ops/reads?student_number={number}&lang=en")
    assert trail.status_code == 200
    assert 'data-actor="web:officer-reads"' in trail.text
    assert "clerk-reads" not in trail.text
    by_staff = auditor.get("/ops/reads?branch=SH01&actor=web:officer-reads")
    assert f'data-student="{number}"' in by_staff.text
    assert clerk.get("/ops/reads").status_code == 403

    audit = auditor.get("/ops/audit?lang=en")  # the audit verification checks the trail too
    verified = auditor.post(
        "/ops/audit",
        data={"csrf": csrf_of(audit), "idempotency_key": "k", "branch": "SH01"},
    )
    assert verified.status_code == 200
    assert 'id="read-trail-result" data-ok="yes"' in verified.text


def test_the_alerts_page_is_for_the_manager_and_the_auditor(site: Site) -> None:
    manager = signed_in(site, site.staff("manager-alerts", Role.APPROVER))
    auditor = signed_in(site, site.staff("auditor-alerts", Role.AUDITOR))
    clerk = signed_in(site, site.staff("clerk-alerts", Role.FRONT_DESK))
    assert manager.get("/ops/alerts?branch=SH01").status_code == 200
    assert auditor.get("/ops/alerts?branch=SH01&open=1").status_code == 200
    assert clerk.get("/ops/alerts").status_code == 403
