"""dossier.approvals — change requests, status, destruction, consents, feedback; four-eyes.

Change requests (信息变更) reviewed by a second person, applied and confirmed
by the student; status changes (档案分类); destruction requests (资料销毁) and
legal holds (法律保留); consents, disclosures and the student's own export
(未经学员同意不得泄露); feedback on the process (流程反馈).

`dossier.approvals.handlers.Approvals` holds the use cases, callable in-process
(this is what an embedding application calls); `dossier.approvals.service`
maps them onto NATS endpoints ``dossier.approvals.<verb>``. See docs/approvals.md.
"""
