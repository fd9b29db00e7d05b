"""Texts of the staff console (front desk, enrolment officer, approver): keys ``staff.…``.

Labels of the services' vocabularies are ``staff.<group>.<value>`` (``staff.field.personal.
phone``, ``staff.action.change.approved``…); a value without one is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from dossier.core.changes import CHANGEABLE
from dossier.core.enums import DocumentKind, IdDocumentType, Locale
from dossier.gateway.texts import field_labels, term_labels

EN, ZH = Locale.EN, Locale.ZH_CN


def _t(en: str, zh: str) -> Mapping[Locale, str]:
    return {EN: en, ZH: zh}


_COMMON = {
    "staff.fix": _t("Please correct the fields marked below.", "请修改下面标出的内容。"),
    "staff.branch": _t("Branch", "校区"),
    "staff.status": _t("Status", "状态"),
    "staff.reason": _t("Reason", "原因"),
    "staff.actor": _t("By", "操作人"),
    "staff.all": _t("All", "全部"),
    "staff.yes": _t("yes", "是"),
    "staff.no": _t("no", "否"),
    "staff.show": _t("Show", "显示"),
    "staff.filter": _t("Filter", "筛选"),
    "staff.order": _t("Order", "排序"),
    "staff.order.oldest": _t("Oldest first", "最早的在前"),
    "staff.order.newest": _t("Newest first", "最新的在前"),
    "staff.paging": _t("Pages", "分页"),
    "staff.first_page": _t("First page", "第一页"),
    "staff.next_page": _t("Next page", "下一页"),
    "staff.student_number": _t("Student number", "学号"),
    "staff.documents": _t("Documents", "文件"),
    "staff.needs": _t("Learning needs", "学习需求"),
    "staff.guardian": _t("Guardian", "监护人"),
    "staff.guardian.relation": _t("Relation", "关系"),
    "staff.guardian.consent": _t("Guardian's consent", "监护人同意"),
    "staff.back_to_dossier": _t("Back to the dossier", "返回学员档案"),
    "staff.person.name": _t("Name", "姓名"),
    "staff.person.gender": _t("Gender", "性别"),
    "staff.person.birth_date": _t("Date of birth", "出生日期"),
    "staff.person.id_document": _t("ID document", "证件"),
    "staff.person.phone": _t("Phone", "手机"),
    "staff.person.email": _t("E-mail", "电子邮箱"),
    "staff.person.address": _t("Address", "地址"),
}

_CONSOLE = {
    "staff.console.title": _t("Staff console", "工作台"),
    "staff.console.signed_in": _t("Signed in as {login}.", "当前登录：{login}。"),
    "staff.console.roles": _t("Your roles", "您的角色"),
    "staff.console.branches": _t("Your branches", "您的校区"),
    "staff.console.front": _t("Front desk and enrolment", "前台与招生"),
    "staff.console.approve": _t("Approvals", "审批"),
    "staff.console.link.queue": _t("Registrations to review", "待审核报名"),
    "staff.console.link.search": _t("Find a dossier", "查找学员档案"),
    "staff.console.link.import": _t("Import students from a file", "从文件批量导入学员"),
    "staff.console.link.changes": _t("Change requests", "信息变更申请"),
    "staff.console.link.destructions": _t("Destruction requests", "资料销毁申请"),
    "staff.console.about.queue": _t(
        "Online and front-desk registrations of your branches; admit or reject them.",
        "本校区的在线及前台报名；审核录取或不予录取。",
    ),
    "staff.console.about.search": _t(
        "By student number, phone, or name with phone; then courses, payments, documents.",
        "按学号、手机号或姓名加手机号查找；查看课程、缴费和文件。",
    ),
    "staff.console.about.import": _t(
        "A CSV or XLSX file from the system used before, with a report per row.",
        "导入原系统的CSV或XLSX文件，逐行给出校验报告。",
    ),
    "staff.console.about.changes": _t(
        "Review requested changes field by field; never your own (four-eyes rule).",
        "逐项审核信息变更；不能审批本人提交的申请（双人审核）。",
    ),
    "staff.console.about.destructions": _t(
        "Approve or reject requests to destroy a student's data; legal holds.",
        "审批资料销毁申请；查看法律保留。",
    ),
    "staff.console.nothing": _t(
        "Your roles have no pages in this console.", "您的角色在工作台中没有可用页面。"
    ),
    "staff.console.ops": _t("Review, backups and audit", "定期审核、备份与审计"),
}

_REGISTRATIONS = {
    "staff.reg.queue_title": _t("Registrations", "报名审核"),
    "staff.reg.queue_caption": _t("Branch {branch}: {status}", "校区 {branch}：{status}"),
    "staff.reg.submitted_at": _t("Submitted", "提交时间"),
    "staff.reg.channel": _t("Channel", "渠道"),
    "staff.reg.empty": _t("No registrations here.", "没有报名记录。"),
    "staff.reg.title": _t("Registration", "报名表"),
    "staff.reg.back_to_queue": _t("Back to the queue", "返回报名列表"),
    "staff.reg.reference": _t("Reference", "报名编号"),
    "staff.reg.decided": _t("Decided", "审核结果"),
    "staff.reg.applicant": _t("This registration", "本报名"),
    "staff.reg.admitted_as": _t("Admitted with student number", "已录取，学号"),
    "staff.reg.duplicate": _t("Probable duplicate {n}", "疑似重复 {n}"),
    "staff.reg.matched_on": _t("Matched on:", "匹配依据："),
    "staff.reg.duplicate_hidden": _t(
        "A record you may not see (another branch).", "一条您无权查看的记录（其他校区）。"
    ),
    "staff.reg.a_registration": _t("A registration", "一份报名"),
    "staff.reg.more_duplicates": _t("{n} more probable duplicates.", "另有 {n} 条疑似重复。"),
    "staff.reg.decide": _t("Decision", "审核"),
    "staff.reg.admit": _t("Admit", "录取"),
    "staff.reg.admit_reason_default": _t("Admitted after review", "审核通过"),
    "staff.reg.allow_duplicates": _t(
        "I compared the {n} probable duplicate(s): this is a different person.",
        "我已核对 {n} 条疑似重复记录：确认不是同一人。",
    ),
    "staff.reg.reject": _t("Reject", "不予录取"),
    "staff.reg.reject_confirm": _t("Reject this registration?", "确定不予录取吗？"),
    "staff.reg.rejected_flash": _t("The registration was rejected.", "已不予录取。"),
}

_DOSSIERS = {
    "staff.search.title": _t("Find a dossier", "查找学员档案"),
    "staff.search.name_hint": _t(
        "A name is searched together with phone and date of birth.",
        "姓名需与手机号和出生日期一起查询。",
    ),
    "staff.search.submit": _t("Search", "查找"),
    "staff.search.results": _t("{n} found", "找到 {n} 条"),
    "staff.search.none": _t("Nobody found.", "没有找到。"),
    "staff.dossier.title": _t("Dossier {number}", "学员档案 {number}"),
    "staff.dossier.sections": _t("Sections", "目录"),
    "staff.dossier.admitted_at": _t("Admitted", "入学时间"),
    "staff.dossier.personal": _t("Personal details", "个人信息"),
    "staff.dossier.courses": _t("Courses", "课程"),
    "staff.dossier.payments": _t("Payments", "缴费"),
    "staff.dossier.status_history": _t("Status history", "档案分类记录"),
    "staff.dossier.changes": _t("Change requests", "信息变更申请"),
    "staff.dossier.holds": _t("Legal holds", "法律保留"),
    "staff.dossier.destruction": _t("Destruction", "资料销毁"),
    "staff.dossier.audit": _t("Audit trail", "审计记录"),
    "staff.dossier.request_change": _t("Request a change of details", "申请信息变更"),
    "staff.dossier.invite": _t("Invite the student to the web pages", "邀请学员使用网上服务"),
    "staff.dossier.invite_hint": _t(
        "Makes a one-time activation link; an earlier unused one stops working.",
        "生成一次性激活链接；之前未使用的链接将失效。",
    ),
    "staff.invite.title": _t("Activation link", "激活链接"),
    "staff.invite.body": _t(
        "Give this link to student {number}: with it they choose a password (valid 7 days).",
        "请把此链接交给学员 {number}：学员用它设置密码（7天内有效）。",
    ),
    "staff.invite.link": _t("One-time link", "一次性链接"),
    "staff.invite.once": _t(
        "It is shown only now and is not stored; make a new one if it is lost.",
        "链接只显示这一次，系统不保存；如丢失请重新生成。",
    ),
    "staff.course.code": _t("Course code", "课程代码"),
    "staff.course.name": _t("Course", "课程名称"),
    "staff.course.starts_on": _t("Starts on", "开始日期"),
    "staff.course.ends_on": _t("Ends on", "结束日期"),
    "staff.course.ends_on_optional": _t("Ends on (optional)", "结束日期（选填）"),
    "staff.course.ended_on": _t("Ended on", "结课日期"),
    "staff.course.enrol": _t("Enrol in a course", "报读课程"),
    "staff.course.end": _t("End course", "结束课程"),
    "staff.payment.paid_at": _t("Paid", "缴费时间"),
    "staff.payment.paid_at_local": _t("Paid at ({zone})", "缴费时间（{zone}）"),
    "staff.payment.amount": _t("Amount", "金额"),
    "staff.payment.amount_hint": _t("For example 1200.00", "例如 1200.00"),
    "staff.payment.currency": _t("Currency", "币种"),
    "staff.payment.method": _t("Method", "缴费方式"),
    "staff.payment.receipt": _t("Receipt number", "收据编号"),
    "staff.payment.record": _t("Record a payment", "登记缴费"),
    "staff.document.kind": _t("Kind", "类别"),
    "staff.document.type": _t("Type", "格式"),
    "staff.document.size": _t("Size", "大小"),
    "staff.document.download": _t("Download", "下载"),
    "staff.document.add": _t("Add a document", "添加文件"),
    "staff.document.file": _t("File", "文件"),
    "staff.document.hint": _t(
        "JPEG, PNG, WebP or PDF, at most {max_kb} KB.",
        "JPEG、PNG、WebP 或 PDF，不超过 {max_kb} KB。",
    ),
    "staff.history.effective": _t("Effective", "生效日期"),
    "staff.history.effective_optional": _t("Effective date (optional)", "生效日期（选填）"),
    "staff.history.from": _t("From", "原状态"),
    "staff.history.to": _t("To", "新状态"),
    "staff.history.recorded": _t("Recorded", "记录时间"),
    "staff.history.change": _t("Change the status", "变更档案分类"),
    "staff.hold.set_at": _t("Set", "设置时间"),
    "staff.hold.set": _t("Set a legal hold", "设置法律保留"),
    "staff.hold.lift": _t("Lift", "解除"),
    "staff.hold.active": _t("in force", "有效"),
    "staff.hold.lifted": _t("lifted {at}: {reason}", "已于 {at} 解除：{reason}"),
    "staff.audit.hint": _t(
        "What was done, by whom and when; values are never shown.",
        "记录操作内容、操作人和时间；不显示任何字段的值。",
    ),
    "staff.audit.newest": _t("The newest {n} of {total}.", "显示最新的 {n} 条，共 {total} 条。"),
    "staff.audit.at": _t("When", "时间"),
    "staff.audit.action": _t("Action", "操作"),
    "staff.flash.enrolled": _t("The course was added.", "已报读课程。"),
    "staff.flash.ended": _t("The course was ended.", "课程已结束。"),
    "staff.flash.paid": _t("The payment was recorded.", "缴费已登记。"),
    "staff.flash.filed": _t("The document was filed.", "文件已归档。"),
    "staff.flash.status": _t("The status was changed.", "档案分类已变更。"),
    "staff.flash.hold": _t("The legal hold was set.", "已设置法律保留。"),
    "staff.flash.lifted": _t("The legal hold was lifted.", "法律保留已解除。"),
    "staff.flash.destruction": _t("The destruction request was filed.", "资料销毁申请已提交。"),
}

_CHANGES = {
    "staff.change.list_title": _t("Change requests", "信息变更申请"),
    "staff.change.empty": _t("No change requests here.", "没有信息变更申请。"),
    "staff.change.requested_at": _t("Requested", "申请时间"),
    "staff.change.requested_by": _t("Requested by", "申请人"),
    "staff.change.fields": _t("Fields", "字段"),
    "staff.change.you": _t("you", "本人"),
    "staff.change.title": _t("Change request", "信息变更申请"),
    "staff.change.back": _t("Back to the change requests", "返回变更申请列表"),
    "staff.change.reviewed": _t("Reviewed", "审批"),
    "staff.change.dispute": _t("Disputed by the student", "学员异议"),
    "staff.change.evidence": _t("Evidence (optional)", "证明材料（选填）"),
    "staff.change.stale": _t(
        "The dossier changed after this request was based on it (version {based}, now "
        "{current}): re-base it and look at it again before approving.",
        "该申请所依据的档案已被修改（依据版本 {based}，当前版本 {current}）："
        "请先重新核对，再审批。",
    ),
    "staff.change.caption": _t("Each field, before and after", "逐项对比：变更前与变更后"),
    "staff.change.approve_field": _t("Approve", "批准"),
    "staff.change.approve_this": _t("Approve {field}", "批准{field}"),
    "staff.change.field": _t("Field", "字段"),
    "staff.change.before": _t("Before", "变更前"),
    "staff.change.after": _t("After", "变更后"),
    "staff.change.approved": _t("Approved", "已批准"),
    "staff.change.comment": _t("Comment (required to reject)", "审批意见（不予批准时必填）"),
    "staff.change.approve": _t("Approve the ticked fields", "批准勾选的字段"),
    "staff.change.reject": _t("Reject", "不予批准"),
    "staff.change.decide_hint": _t(
        "Untick a field to leave it unchanged; rejecting changes nothing.",
        "取消勾选的字段将保持不变；不予批准则不作任何修改。",
    ),
    "staff.change.uphold_hint": _t(
        "The student disputed this change: approving upholds it, rejecting reverts it.",
        "学员对此变更提出了异议：批准即维持变更，不予批准即恢复原值。",
    ),
    "staff.change.own": _t(
        "You made this request, so you cannot decide it: another approver must (four-eyes rule).",
        "这是您本人提交的申请，您不能审批：须由另一位审批人审批（双人审核原则）。",
    ),
    "staff.change.not_approver": _t(
        "An approver of the branch decides this request.", "此申请由本校区的审批人审批。"
    ),
    "staff.change.rebase": _t("Re-base the request", "重新核对申请"),
    "staff.change.rebase_hint": _t(
        "Checks the requested values again against the dossier as it is now and refreshes the "
        "values before; the request then waits for a decision.",
        "按当前档案重新校验申请的新值并更新变更前的值；之后申请等待审批。",
    ),
    "staff.change.new_title": _t("Request a change of details", "信息变更申请表"),
    "staff.change.new_intro": _t(
        "For student {number}: fill in only the fields to change. An approver decides.",
        "学员 {number}：只填写需要变更的字段。由审批人审批。",
    ),
    "staff.change.now": _t("Now", "当前值"),
    "staff.change.new_value": _t("New value", "新值"),
    "staff.change.unchanged": _t("(unchanged)", "（不变）"),
    "staff.change.id_type": _t("Document type", "证件类型"),
    "staff.change.id_number": _t("New document number", "新证件号码"),
    "staff.change.submit": _t("Submit the request", "提交申请"),
    "staff.change.submitted_flash": _t("The change request was filed.", "信息变更申请已提交。"),
    "staff.change.approved_flash": _t(
        "Approved and applied to the dossier.", "已批准，档案已更新。"
    ),
    "staff.change.partly_approved_flash": _t(
        "The ticked fields were approved and applied; the others stay as they were.",
        "勾选的字段已批准并更新，其余字段保持不变。",
    ),
    "staff.change.rejected_flash": _t("The request was rejected.", "已不予批准。"),
    "staff.change.rebased_flash": _t(
        "Re-based: look at the values again before deciding.", "已重新核对：请再次查看后审批。"
    ),
}

_DESTRUCTIONS = {
    "staff.destruction.list_title": _t("Destruction requests", "资料销毁申请"),
    "staff.destruction.empty": _t("No destruction requests here.", "没有资料销毁申请。"),
    "staff.destruction.hold": _t("Legal hold", "法律保留"),
    "staff.destruction.on_hold": _t("on hold", "法律保留中"),
    "staff.destruction.title": _t("Destruction request", "资料销毁申请"),
    "staff.destruction.back": _t("Back to the destruction requests", "返回销毁申请列表"),
    "staff.destruction.executed": _t("Executed", "已执行"),
    "staff.destruction.hold_blocks": _t(
        "A legal hold is in force: the data cannot be destroyed until it is lifted.",
        "存在有效的法律保留：解除前不能销毁资料。",
    ),
    "staff.destruction.decide": _t("Decision", "审批"),
    "staff.destruction.approve": _t("Approve destruction", "批准销毁"),
    "staff.destruction.approve_confirm": _t(
        "Approve the destruction of this student's data?", "确定批准销毁该学员的资料吗？"
    ),
    "staff.destruction.reject": _t("Reject", "不予批准"),
    "staff.destruction.own": _t(
        "You made this request, so you cannot decide it: another approver must (four-eyes rule).",
        "这是您本人提交的申请，您不能审批：须由另一位审批人审批（双人审核原则）。",
    ),
    "staff.destruction.request": _t("Request destruction of the data", "申请销毁资料"),
    "staff.destruction.request_confirm": _t(
        "Request the destruction of this student's data?", "确定申请销毁该学员的资料吗？"
    ),
    "staff.destruction.approve_flash": _t("Destruction approved.", "已批准销毁。"),
    "staff.destruction.reject_flash": _t("Destruction rejected.", "已不予批准销毁。"),
}

_IMPORTS = {
    "staff.import.title": _t("Import students", "批量导入学员"),
    "staff.import.intro": _t(
        "A table with a header row: name, gender, birth_date, id_type, id_number, phone, "
        "target_language, admitted_on… (English or Chinese headings). Valid rows are imported "
        "and the others reported, row by row.",
        "首行为列名的表格：姓名、性别、出生日期、证件类型、证件号码、手机、目标语言、入学日期……"
        "（中英文列名均可）。有效行将导入，其余行逐行报告问题。",
    ),
    "staff.import.source_system": _t("System the data comes from", "数据来源系统"),
    "staff.import.source_hint": _t("For example: the old CRM", "例如：原CRM系统"),
    "staff.import.file": _t("File (CSV UTF-8 or XLSX)", "文件（CSV UTF-8 或 XLSX）"),
    "staff.import.file_hint": _t("At most {max_kb} KB.", "不超过 {max_kb} KB。"),
    "staff.import.strict": _t(
        "Strict: import nothing if any row is invalid", "严格模式：任何一行有误则全部不导入"
    ),
    "staff.import.strict_hint": _t(
        "Every row is checked first; then all rows are imported, or none.",
        "先校验所有行；然后全部导入，或全部不导入。",
    ),
    "staff.import.start": _t("Upload and import", "上传并导入"),
    "staff.import.recent": _t("Your recent imports", "您最近的导入"),
    "staff.import.job_title": _t("Import", "导入任务"),
    "staff.import.back": _t("Import another file", "导入其他文件"),
    "staff.import.starting": _t("The import is starting…", "导入正在开始……"),
    "staff.import.progress": _t("Rows done", "已处理行数"),
    "staff.import.refresh": _t("Refresh", "刷新"),
    "staff.import.mode": _t("Mode", "模式"),
    "staff.import.strict_mode": _t("strict", "严格"),
    "staff.import.lenient_mode": _t("valid rows only", "仅导入有效行"),
    "staff.import.started": _t("Started", "开始时间"),
    "staff.import.valid": _t("Valid rows", "有效行"),
    "staff.import.invalid": _t("Rows with problems", "有问题的行"),
    "staff.import.imported": _t("Students imported", "已导入学员"),
    "staff.import.problems": _t("{n} problem(s)", "{n} 处问题"),
    "staff.import.row": _t("Row", "行"),
    "staff.import.column": _t("Column", "列"),
    "staff.import.rule": _t("Rule", "规则"),
    "staff.import.message": _t("Problem", "问题"),
    "staff.import.omitted": _t(
        "{n} more problems are counted but not listed.", "另有 {n} 处问题未列出。"
    ),
    "staff.import.clean": _t("No problems.", "没有问题。"),
}

_VOCABULARIES = {
    "staff.role.student": _t("student", "学员"),
    "staff.role.front_desk": _t("front desk", "前台"),
    "staff.role.enrolment_officer": _t("enrolment officer", "招生专员"),
    "staff.role.approver": _t("approver", "审批人"),
    "staff.role.reviewer": _t("reviewer", "审核员"),
    "staff.role.operator": _t("operator", "运维人员"),
    "staff.role.auditor": _t("auditor", "审计员"),
    "staff.role.admin": _t("administrator", "管理员"),
    "staff.channel.online": _t("online", "在线"),
    "staff.channel.front_desk": _t("front desk", "前台"),
    "staff.channel.import": _t("import", "导入"),
    "staff.reg_status.submitted": _t("to review", "待审核"),
    "staff.reg_status.accepted": _t("admitted", "已录取"),
    "staff.reg_status.rejected": _t("rejected", "不予录取"),
    "staff.reg_status.withdrawn": _t("withdrawn", "已撤回"),
    "staff.student_status.enrolled": _t("enrolled", "在读"),
    "staff.student_status.suspended": _t("suspended", "休学"),
    "staff.student_status.completed": _t("completed", "已结课"),
    "staff.student_status.withdrawn": _t("withdrawn", "退学"),
    "staff.student_status.destroyed": _t("destroyed", "已销毁"),
    "staff.change_status.submitted": _t("to decide", "待审批"),
    "staff.change_status.approved": _t("approved", "已批准"),
    "staff.change_status.applied": _t("applied", "已更新"),
    "staff.change_status.confirmed": _t("confirmed by the student", "学员已确认"),
    "staff.change_status.disputed": _t("disputed by the student", "学员有异议"),
    "staff.change_status.rejected": _t("rejected", "不予批准"),
    "staff.change_status.cancelled": _t("cancelled", "已取消"),
    "staff.destruction_status.submitted": _t("to decide", "待审批"),
    "staff.destruction_status.approved": _t("approved", "已批准"),
    "staff.destruction_status.executed": _t("executed", "已销毁"),
    "staff.destruction_status.rejected": _t("rejected", "不予批准"),
    "staff.destruction_status.cancelled": _t("cancelled", "已取消"),
    "staff.enrolment.active": _t("active", "进行中"),
    "staff.enrolment.ended": _t("ended", "已结束"),
    "staff.method.cash": _t("cash", "现金"),
    "staff.method.card": _t("card", "银行卡"),
    "staff.method.bank_transfer": _t("bank transfer", "银行转账"),
    "staff.method.wechat_pay": _t("WeChat Pay", "微信支付"),
    "staff.method.alipay": _t("Alipay", "支付宝"),
    "staff.method.other": _t("other", "其他"),
    "staff.matched_on.id_document": _t("the same ID document", "相同证件"),
    "staff.matched_on.phone": _t("the same phone", "相同手机号"),
    "staff.matched_on.name_birth_phone": _t(
        "the same name, date of birth and phone", "相同姓名、出生日期和手机号"
    ),
    "staff.import_state.starting": _t("starting", "正在开始"),
    "staff.import_state.validating": _t("checking rows", "正在校验"),
    "staff.import_state.importing": _t("importing", "正在导入"),
    "staff.import_state.completed": _t("completed", "已完成"),
    "staff.import_state.rejected": _t("rejected: nothing imported", "已拒绝：未导入任何行"),
    "staff.import_state.failed": _t("failed", "失败"),
    "staff.field.course": _t("courses", "课程"),
    "staff.field.payment": _t("payments", "缴费"),
    "staff.field.document": _t("documents", "文件"),
    "staff.field.status": _t("status", "档案分类"),
    "staff.field.student_number": _t("student number", "学号"),
    "staff.action.registration.submitted": _t("registration submitted", "提交报名"),
    "staff.action.registration.accepted": _t("registration accepted", "报名录取"),
    "staff.action.registration.rejected": _t("registration rejected", "报名不予录取"),
    "staff.action.registration.withdrawn": _t("registration withdrawn", "报名撤回"),
    "staff.action.student.admitted": _t("admitted", "建档"),
    "staff.action.student.imported": _t("imported", "导入建档"),
    "staff.action.student.status_changed": _t("status changed", "档案分类变更"),
    "staff.action.student.record_changed": _t("details changed", "档案信息更新"),
    "staff.action.student.record_reverted": _t("details reverted", "档案信息恢复"),
    "staff.action.student.destroyed": _t("data destroyed", "资料销毁"),
    "staff.action.student.shredded": _t("keys shredded", "密钥销毁"),
    "staff.action.course.enrolled": _t("course added", "报读课程"),
    "staff.action.course.ended": _t("course ended", "结束课程"),
    "staff.action.payment.recorded": _t("payment recorded", "登记缴费"),
    "staff.action.document.added": _t("document filed", "归档文件"),
    "staff.action.change.submitted": _t("change requested", "提交变更申请"),
    "staff.action.change.approved": _t("change approved", "批准变更"),
    "staff.action.change.applied": _t("change applied", "变更已更新"),
    "staff.action.change.rejected": _t("change rejected", "不予批准变更"),
    "staff.action.change.rebased": _t("change re-based", "重新核对变更"),
    "staff.action.change.confirmed": _t("change confirmed", "学员确认变更"),
    "staff.action.change.disputed": _t("change disputed", "学员异议"),
    "staff.action.destruction.submitted": _t("destruction requested", "申请销毁"),
    "staff.action.destruction.approved": _t("destruction approved", "批准销毁"),
    "staff.action.destruction.rejected": _t("destruction rejected", "不予批准销毁"),
    "staff.action.destruction.executed": _t("destruction executed", "执行销毁"),
    "staff.action.hold.set": _t("legal hold set", "设置法律保留"),
    "staff.action.hold.lifted": _t("legal hold lifted", "解除法律保留"),
    "staff.action.consent.recorded": _t("consent recorded", "登记同意"),
    "staff.action.consent.withdrawn": _t("consent withdrawn", "撤回同意"),
    "staff.action.disclosure.recorded": _t("data disclosed", "对外披露"),
    "staff.action.dossier.exported": _t("copy exported", "导出个人信息副本"),
}

_CONFIDENTIALITY = {
    "staff.policy.notice": _t(
        "You have not acknowledged the current confidentiality policy of {branches}: until you "
        "do, personal data is shown masked and documents cannot be opened.",
        "您尚未确认{branches}现行的保密承诺：确认之前，个人信息均以脱敏方式显示，且不能查看文件。",
    ),
    "staff.policy.notice_link": _t("Read and acknowledge the policy", "阅读并确认保密承诺"),
    "staff.dossier.masked.policy_not_acknowledged": _t(
        "Masked: you have not acknowledged the branch's current confidentiality policy.",
        "已脱敏：您尚未确认本校区现行的保密承诺。",
    ),
    "staff.policy.title": _t("Confidentiality policy", "保密承诺"),
    "staff.policy.version": _t("Version {version}, published {at}.", "第{version}版，发布于{at}。"),
    "staff.policy.other_language": _t("Chinese text", "英文文本"),
    "staff.policy.due": _t(
        "Please read the policy and acknowledge it. It is asked again for each new version "
        "and every {days} days.",
        "请阅读并确认本保密承诺。每次发布新版本以及每{days}天需重新确认。",
    ),
    "staff.policy.acknowledge": _t(
        "I have read version {version} and will abide by it", "我已阅读第{version}版并承诺遵守"
    ),
    "staff.policy.acknowledged": _t(
        "You acknowledged version {version} on {at}; it is asked again after {days} days or "
        "with a new version.",
        "您已于{at}确认第{version}版；{days}天后或发布新版本时需重新确认。",
    ),
    "staff.policy.acknowledged_flash": _t(
        "Thank you: version {version} acknowledged.", "已确认第{version}版保密承诺。"
    ),
    "staff.policy.none": _t(
        "No confidentiality policy has been published for this branch, so none needs to be "
        "acknowledged: staff see data as their role allows. The branch manager publishes one.",
        "本校区尚未发布保密承诺，因此无需确认：员工按其角色查看数据。由校区负责人发布。",
    ),
    "staff.policy.publish_link": _t("Publish a new version", "发布新版本"),
    "staff.policy.publish_title": _t("Publish the confidentiality policy", "发布保密承诺"),
    "staff.policy.publish_hint": _t(
        "A new version must be acknowledged again by every member of staff of the branch; "
        "until they do, they see masked data only.",
        "发布新版本后，本校区全体员工须重新确认；确认之前只能查看脱敏数据。",
    ),
    "staff.policy.text_zh": _t("Text in Chinese", "中文文本"),
    "staff.policy.text_en": _t("Text in English", "英文文本"),
    "staff.policy.publish": _t("Publish", "发布"),
    "staff.policy.published_flash": _t("Version {version} published.", "第{version}版已发布。"),
    "staff.training.title": _t(
        "Confidentiality training and acknowledgements", "保密培训与承诺确认"
    ),
    "staff.training.current": _t(
        "Current policy: version {version}; acknowledgements and training hold {days} days.",
        "现行保密承诺：第{version}版；确认与培训的有效期为{days}天。",
    ),
    "staff.training.csv": _t("Download as CSV", "下载 CSV"),
    "staff.training.column.actor": _t("Staff", "员工"),
    "staff.training.column.roles": _t("Roles", "角色"),
    "staff.training.column.acknowledged_version": _t("Version acknowledged", "已确认版本"),
    "staff.training.column.acknowledged_at": _t("Acknowledged at", "确认时间"),
    "staff.training.column.policy_due": _t("Acknowledgement due", "需确认"),
    "staff.training.column.last_training": _t("Last training", "最近培训"),
    "staff.training.column.training_due": _t("Training due", "需培训"),
    "staff.training.no_staff": _t("No staff accounts for this branch.", "本校区没有员工账户。"),
    "staff.training.sessions": _t("Training sessions", "培训记录"),
    "staff.training.empty": _t("No training recorded yet.", "尚无培训记录。"),
    "staff.training.record": _t("Record a training session", "登记培训"),
    "staff.training.topic": _t("Topic", "主题"),
    "staff.training.held_on": _t("Date", "日期"),
    "staff.training.trainer": _t("Trainer", "培训人"),
    "staff.training.attendees": _t("Attendees", "参加人员"),
    "staff.training.other_attendees": _t(
        "Other attendees (one staff id per line)", "其他参加人员（每行一个员工账号）"
    ),
    "staff.training.materials": _t("Materials", "培训材料"),
    "staff.training.materials_hint": _t(
        "Materials (one title or link per line)", "培训材料（每行一个标题或链接）"
    ),
    "staff.training.files": _t("Material files", "培训材料文件"),
    "staff.training.files_hint": _t(
        "PDF, PNG, JPEG or WebP, up to {max_kb} KB each; several may be chosen.",
        "PDF、PNG、JPEG 或 WebP 格式，每个文件不超过 {max_kb} KB，可多选。",
    ),
    "staff.training.recorded_flash": _t("Training recorded.", "培训已登记。"),
    "staff.console.confidentiality": _t("Confidentiality", "保密"),
    "staff.console.link.policy": _t("Confidentiality policy", "保密承诺"),
    "staff.console.about.policy": _t(
        "Read and acknowledge your branch's policy", "阅读并确认本校区的保密承诺"
    ),
    "staff.console.link.training": _t("Training and acknowledgements", "保密培训与确认情况"),
    "staff.console.about.training": _t(
        "Who has acknowledged, who was trained, who is due", "谁已确认、谁已培训、谁需要补做"
    ),
}

_VOCABULARY: Mapping[str, Mapping[Locale, str]] = {
    **field_labels("staff.field.", CHANGEABLE),
    **term_labels("staff.doc_kind.", DocumentKind),
    **term_labels("staff.id_type.", IdDocumentType),
}
"""Field labels, document kinds and ID types: the message catalogue's words."""

TEXT: Mapping[str, Mapping[Locale, str]] = {
    **_COMMON,
    **_VOCABULARY,
    **_CONSOLE,
    **_REGISTRATIONS,
    **_DOSSIERS,
    **_CHANGES,
    **_DESTRUCTIONS,
    **_IMPORTS,
    **_CONFIDENTIALITY,
    **_VOCABULARIES,
}
