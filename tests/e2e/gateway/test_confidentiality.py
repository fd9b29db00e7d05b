"""保密承诺与培训 through the gateway (issue 19, part 3): a member of staff who has not
acknowledged the branch's current confidentiality policy sees masked data only, and why;
after acknowledging, full data; a new version masks again. The branch manager publishes,
records training, and reads who is due — on the page and as a CSV for Excel.

HTTP-level against the real gateway and services, one site for the module.
"""

from __future__ import annotations

import csv
import io
import re

import httpx

from dossier.core.policy import Role
from tests.e2e.gateway.conftest import Site
from tests.e2e.gateway.hostile import csrf_of, signed_in
from tests.e2e.gateway.test_browser_student_support import new_student

NAME = "钱多多"


def _key(page: httpx.Response) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _publish(manager: httpx.Client, zh: str, en: str) -> httpx.Response:
    form = manager.get("/staff/policy/publish?branch=SH01")
    assert form.status_code == 200, form.text
    return manager.post(
        "/staff/policy/publish",
        data={
            "csrf": csrf_of(form),
            "idempotency_key": _key(form),
            "branch": "SH01",
            "text_zh": zh,
            "text_en": en,
        },
    )


def _acknowledge(officer: httpx.Client) -> httpx.Response:
    page = officer.get("/staff/policy?branch=SH01")
    assert 'id="acknowledge"' in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    return officer.post(
        "/staff/policy/acknowledge",
        data={
            "csrf": csrf_of(page),
            "idempotency_key": _key(page),
            "branch": "SH01",
            "version": version.group(1),
        },
    )


def test_masked_until_acknowledged_then_full_then_masked_again(site: Site) -> None:
    number = new_student(site, name=NAME)
    manager = signed_in(site, site.staff("manager-conf", Role.APPROVER))
    officer = signed_in(site, site.staff("officer-conf", Role.ENROLMENT_OFFICER))

    # no policy published: nothing to acknowledge, the officer sees the data
    policy = officer.get("/staff/policy?branch=SH01&lang=en")
    assert 'id="policy-none"' in policy.text
    page = officer.get(f"/staff/dossiers/{number}")
    assert NAME in page.text
    assert 'id="policy-notice"' not in page.text

    # the manager publishes version 1 (the officer has not acknowledged it)
    published = _publish(manager, "第一条 学员信息保密。", "1. Student data is confidential.")
    assert published.status_code == 303, published.text
    page = officer.get(f"/staff/dossiers/{number}?lang=en")
    assert page.status_code == 200
    assert NAME not in page.text
    assert 'id="masked-because"' in page.text
    assert 'id="policy-notice"' in page.text
    assert "not acknowledged" in page.text
    assert "/documents/" not in page.text  # documents cannot be masked: no link

    done = _acknowledge(officer)
    assert done.status_code == 303, done.text
    page = officer.get(f"/staff/dossiers/{number}")
    assert NAME in page.text
    assert 'id="masked-because"' not in page.text
    assert 'id="policy-notice"' not in page.text
    document = re.search(r'href="(/staff/dossiers/[^"]+/documents/[^"]+)"', page.text)
    assert document
    assert officer.get(document.group(1)).status_code == 200

    # a new version: masked again until acknowledged again
    assert _publish(manager, "第二版", "Version two").status_code == 303
    page = officer.get(f"/staff/dossiers/{number}")
    assert NAME not in page.text
    assert 'id="masked-because"' in page.text
    refused = officer.get(document.group(1) + "?lang=en")
    assert refused.status_code == 403
    assert "confidentiality policy" in refused.text
    assert _acknowledge(officer).status_code == 303
    assert NAME in officer.get(f"/staff/dossiers/{number}").text

    # the officer may not publish
    assert officer.get("/staff/policy/publish?branch=SH01").status_code == 403


def test_training_records_the_status_and_the_csv(site: Site) -> None:
    manager = signed_in(site, site.staff("manager-train", Role.APPROVER))
    if 'id="policy-none"' in manager.get("/staff/policy?branch=SH01").text:
        assert _publish(manager, "保密", "Confidential").status_code == 303
    site.staff("desk-train", Role.FRONT_DESK, acknowledged=False)
    site.staff("officer-train", Role.ENROLMENT_OFFICER)

    page = manager.get("/staff/training?branch=SH01&lang=en")
    assert page.status_code == 200
    refused = manager.post(
        "/staff/training",
        data={"csrf": csrf_of(page), "idempotency_key": _key(page), "branch": "SH01"},
    )
    assert refused.status_code == 400
    recorded = manager.post(
        "/staff/training",
        data={
            "csrf": csrf_of(page),
            "idempotency_key": _key(page),
            "branch": "SH01",
            "topic": "个人信息保护法",
            "held_on": "2026-11-20",
            "trainer": "李老师",
            "attendees": ["web:officer-train", "web:desk-train"],
            "materials": "PIPL slides\nhttps://intranet.example/pipl",
        },
    )
    assert recorded.status_code == 303, recorded.text
    page = manager.get("/staff/training?branch=SH01&lang=en")
    assert "个人信息保护法" in page.text
    rows = dict(re.findall(r'data-actor="([^"]+)">(.*?)</tr>', page.text, re.S))
    assert 'class="policy-due">yes' in rows["web:desk-train"]
    assert 'class="policy-due">no' in rows["web:officer-train"]
    assert 'class="training-due">no' in rows["web:officer-train"]

    download = manager.get("/staff/training.csv?branch=SH01&lang=zh-CN")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert table[0][0] == "员工"
    assert "需确认" in table[0]
    by_actor = {row[0]: row for row in table[1:]}
    due = table[0].index("需确认")
    assert by_actor["web:desk-train"][due] == "是"
    assert by_actor["web:officer-train"][due] == "否"
    assert by_actor["web:officer-train"][table[0].index("最近培训")] == "2026-11-20"

    # the front desk neither records training nor reads who is due; the auditor reads
    desk = signed_in(site, "desk-train")
    assert desk.get("/staff/training?branch=SH01").status_code == 403
    auditor = signed_in(site, site.staff("auditor-train", Role.AUDITOR))
    seen = auditor.get("/staff/training?branch=SH01")
    assert seen.status_code == 200
    assert 'id="record"' not in seen.text


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + b"e2e-training-slide"
PDF = b"%PDF-1.7\n" + b"e2e-handout " * 40


def test_training_material_files_are_uploaded_with_the_form_and_downloaded(site: Site) -> None:
    manager = signed_in(site, site.staff("manager-files", Role.APPROVER))
    if 'id="policy-none"' in manager.get("/staff/policy?branch=SH01").text:
        assert _publish(manager, "保密", "Confidential").status_code == 303
    site.staff("officer-files", Role.ENROLMENT_OFFICER)
    page = manager.get("/staff/training?branch=SH01&lang=en")
    assert 'enctype="multipart/form-data"' in page.text
    assert re.search(r'<input id="record-files" name="files" type="file" multiple', page.text)
    fields = {
        "csrf": csrf_of(page),
        "branch": "SH01",
        "topic": "材料培训",
        "held_on": "2026-11-21",
        "trainer": "王老师",
        "attendees": "web:officer-files",
    }

    script = b"#!/bin/sh\necho hello\n"
    for lang, words in (("en", "Material file 1"), ("zh-CN", "第 1 个培训材料文件")):
        refused = manager.post(
            f"/staff/training?lang={lang}",
            data={**fields, "idempotency_key": _key(page)},
            files=[("files", ("slides.png", script, "image/png"))],
        )
        assert refused.status_code == 400, refused.text
        assert 'data-field="files[0].content"' in refused.text
        assert words in refused.text

    recorded = manager.post(
        "/staff/training",
        data={**fields, "idempotency_key": _key(page)},
        files=[
            ("files", ("slides.png", PNG, "image/png")),
            ("files", ("handout.pdf", PDF, "application/pdf")),
        ],
    )
    assert recorded.status_code == 303, recorded.text
    page = manager.get("/staff/training?branch=SH01&lang=en")
    found = re.findall(r'<a class="material" href="([^"]+)"[^>]*>([^<]+)</a>', page.text)
    links = {name: href.replace("&amp;", "&") for href, name in found}
    assert set(links) >= {"slides.png", "handout.pdf"}, page.text
    auditor = signed_in(site, site.staff("auditor-files", Role.AUDITOR))
    for name, data, media_type in (
        ("slides.png", PNG, "image/png"),
        ("handout.pdf", PDF, "application/pdf"),
    ):
        for reader in (manager, auditor):
            got = reader.get(links[name])
            assert got.status_code == 200, got.text
            assert got.content == data
            assert got.headers["content-type"].startswith(media_type)
            assert got.headers["content-disposition"] == f'attachment; filename="{name}"'

    officer = signed_in(site, "officer-files")  # no training.status: no files either
    assert officer.get(links["slides.png"]).status_code == 403
    missing = links["slides.png"].rsplit("/", 1)[0] + "/no-such-file?branch=SH01"
    assert manager.get(missing).status_code == 404
