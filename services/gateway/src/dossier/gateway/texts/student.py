"""Texts of the student's own pages: keys ``student.…``."""

from __future__ import annotations

from collections.abc import Mapping

from dossier.core.changes import CHANGEABLE
from dossier.core.enums import Locale
from dossier.gateway.texts import field_labels

EN, ZH = Locale.EN, Locale.ZH_CN

_NAV: Mapping[str, Mapping[Locale, str]] = {
    "student.nav.label": {EN: "My pages", ZH: "我的页面"},
    "student.nav.overview": {EN: "My records", ZH: "我的档案"},
    "student.nav.changes": {EN: "Change requests", ZH: "信息变更"},
    "student.nav.notifications": {EN: "Notifications", ZH: "通知"},
    "student.nav.consents": {EN: "Consents", ZH: "授权同意"},
    "student.nav.reads": {EN: "Who viewed my record", ZH: "档案查阅记录"},
    "student.nav.destruction": {EN: "Destroy my data", ZH: "资料销毁"},
    "student.nav.export": {EN: "Download my data", ZH: "下载我的资料"},
    "student.nav.feedback": {EN: "Feedback", ZH: "意见反馈"},
    "student.more": {EN: "More", ZH: "更多"},
    "student.yes": {EN: "yes", ZH: "是"},
    "student.no": {EN: "no", ZH: "否"},
}

_DONE: Mapping[str, Mapping[Locale, str]] = {
    "student.done.submitted": {
        EN: "Your request was received. An approver will review it; you will be notified.",
        ZH: "申请已提交，将由审核人员审核，结果会通知您。",
    },
    "student.done.confirmed": {EN: "Thank you: the change is confirmed.", ZH: "谢谢，变更已确认。"},
    "student.done.disputed": {
        EN: "Your dispute was received; the change goes back to review.",
        ZH: "异议已提交，该变更将重新审核。",
    },
    "student.done.no_code": {
        EN: "There is no open confirmation for this change.",
        ZH: "该变更没有待确认的通知。",
    },
    "student.done.consent_recorded": {EN: "Your consent is recorded.", ZH: "已记录您的同意。"},
    "student.done.consent_withdrawn": {EN: "Your consent is withdrawn.", ZH: "已撤回您的同意。"},
    "student.done.destruction_submitted": {
        EN: "Your destruction request was received. An approver will review it.",
        ZH: "资料销毁申请已提交，将由审核人员审核。",
    },
    "student.done.feedback_sent": {EN: "Thank you for your feedback.", ZH: "感谢您的反馈。"},
}

_OVERVIEW: Mapping[str, Mapping[Locale, str]] = {
    "student.me.title": {EN: "My records", ZH: "我的档案"},
    "student.me.number": {EN: "Student number", ZH: "学号"},
    "student.me.branch": {EN: "Branch", ZH: "校区"},
    "student.me.status": {EN: "Status", ZH: "档案状态"},
    "student.me.admitted": {EN: "Admitted", ZH: "入学时间"},
    "student.me.personal": {EN: "Personal details", ZH: "个人信息"},
    "student.me.needs": {EN: "Learning needs", ZH: "学习需求"},
    "student.me.guardian": {EN: "Guardian", ZH: "监护人"},
    "student.me.courses": {EN: "Courses", ZH: "课程"},
    "student.me.payments": {EN: "Payments", ZH: "缴费记录"},
    "student.me.documents": {EN: "Documents on file", ZH: "已存档文件"},
    "student.me.history": {EN: "Status history", ZH: "档案分类记录"},
    "student.me.to_confirm": {
        EN: "{count} change(s) to your records wait for your confirmation.",
        ZH: "您有{count}项档案变更等待确认。",
    },
    "student.me.confirm_link": {EN: "Check and confirm", ZH: "查看并确认"},
    "student.course.code": {EN: "Code", ZH: "课程编号"},
    "student.course.name": {EN: "Course", ZH: "课程名称"},
    "student.course.starts": {EN: "Starts", ZH: "开始日期"},
    "student.course.ends": {EN: "Ends", ZH: "结束日期"},
    "student.course.status": {EN: "State", ZH: "状态"},
    "student.enrolment.active": {EN: "active", ZH: "进行中"},
    "student.enrolment.ended": {EN: "ended", ZH: "已结束"},
    "student.payment.paid_at": {EN: "Paid", ZH: "缴费时间"},
    "student.payment.amount": {EN: "Amount", ZH: "金额"},
    "student.payment.method": {EN: "Method", ZH: "支付方式"},
    "student.payment.receipt": {EN: "Receipt", ZH: "收据编号"},
    "student.method.cash": {EN: "cash", ZH: "现金"},
    "student.method.card": {EN: "card", ZH: "银行卡"},
    "student.method.bank_transfer": {EN: "bank transfer", ZH: "银行转账"},
    "student.method.wechat_pay": {EN: "WeChat Pay", ZH: "微信支付"},
    "student.method.alipay": {EN: "Alipay", ZH: "支付宝"},
    "student.method.other": {EN: "other", ZH: "其他"},
    "student.doc.registration_form": {EN: "Registration form", ZH: "报名表"},
    "student.doc.id_proof": {EN: "Copy of ID document", ZH: "证件复印件"},
    "student.doc.payment_receipt": {EN: "Payment receipt", ZH: "缴费收据"},
    "student.doc.change_evidence": {EN: "Evidence for a change", ZH: "变更证明材料"},
    "student.doc.destruction_form": {EN: "Destruction request form", ZH: "资料销毁申请表"},
    "student.doc.other": {EN: "Other document", ZH: "其他文件"},
    "student.history.effective": {EN: "Effective", ZH: "生效日期"},
    "student.history.change": {EN: "Status", ZH: "状态变化"},
    "student.history.reason": {EN: "Reason", ZH: "原因"},
    "student.student_status.enrolled": {EN: "Enrolled", ZH: "在读"},
    "student.student_status.suspended": {EN: "Suspended", ZH: "休学"},
    "student.student_status.completed": {EN: "Completed", ZH: "已结课"},
    "student.student_status.withdrawn": {EN: "Withdrawn", ZH: "退学"},
    "student.student_status.destroyed": {EN: "Destroyed", ZH: "已销毁"},
}

_FIELDS: Mapping[str, Mapping[Locale, str]] = field_labels("student.field.", CHANGEABLE)
"""Labels of the changeable fields: the message catalogue's (one copy for pages and messages)."""

_CHANGES: Mapping[str, Mapping[Locale, str]] = {
    "student.changes.title": {EN: "My change requests", ZH: "我的信息变更申请"},
    "student.changes.new": {EN: "Request a change", ZH: "申请变更信息"},
    "student.changes.none": {EN: "You have not asked for any change.", ZH: "您尚未提交变更申请。"},
    "student.changes.requested_at": {EN: "Requested", ZH: "申请时间"},
    "student.changes.fields": {EN: "Fields", ZH: "变更字段"},
    "student.changes.status": {EN: "Status", ZH: "状态"},
    "student.changes.open": {EN: "Details", ZH: "详情"},
    "student.changes.awaiting_you": {EN: "— please confirm", ZH: "——请确认"},
    "student.change_status.submitted": {EN: "Awaiting review", ZH: "待审核"},
    "student.change_status.approved": {EN: "Approved", ZH: "已批准"},
    "student.change_status.applied": {EN: "Applied, awaiting your answer", ZH: "已生效，待您确认"},
    "student.change_status.confirmed": {EN: "Confirmed", ZH: "已确认"},
    "student.change_status.disputed": {EN: "Disputed, back in review", ZH: "有异议，重新审核中"},
    "student.change_status.rejected": {EN: "Rejected", ZH: "已驳回"},
    "student.change_status.cancelled": {EN: "Cancelled", ZH: "已撤销"},
    "student.change_form.title": {EN: "Change request form", ZH: "信息变更申请表"},
    "student.change_form.intro": {
        EN: "Choose what to change and give the new value. A second person at the school "
        "checks every request before it changes your records.",
        ZH: "请选择要变更的内容并填写新值。每项申请都由学校另一名工作人员审核后才会写入档案。",
    },
    "student.change_form.fields": {EN: "What to change", ZH: "变更内容"},
    "student.change_form.field": {EN: "Field {n}", ZH: "字段{n}"},
    "student.change_form.value": {EN: "New value {n}", ZH: "新值{n}"},
    "student.change_form.choose": {EN: "— choose a field —", ZH: "— 请选择字段 —"},
    "student.change_form.value_hint": {
        EN: "Dates as YYYY-MM-DD; an ID document as type:number (e.g. passport:E12345678); "
        "gender as female, male, other or undisclosed.",
        ZH: "日期格式为 YYYY-MM-DD；证件格式为 类型:号码（如 passport:E12345678）；"
        "性别填写 female、male、other 或 undisclosed。",
    },
    "student.change_form.reason": {EN: "Reason for the change", ZH: "变更原因"},
    "student.change_form.evidence": {EN: "Evidence (optional)", ZH: "证明材料（选填）"},
    "student.change_form.evidence_hint": {
        EN: "A scan or photo: JPEG, PNG, WebP or PDF, at most {max_kb} KB.",
        ZH: "扫描件或照片：JPEG、PNG、WebP 或 PDF，不超过 {max_kb} KB。",
    },
    "student.change_form.submit": {EN: "Submit request", ZH: "提交申请"},
    "student.change_form.at_least_one": {
        EN: "Choose at least one field and its new value.",
        ZH: "请至少选择一个字段并填写新值。",
    },
    "student.change.title": {EN: "Change request", ZH: "信息变更申请"},
    "student.change.reason": {EN: "Reason", ZH: "变更原因"},
    "student.change.reviewed_at": {EN: "Reviewed", ZH: "审核时间"},
    "student.change.comment": {EN: "Reviewer's comment", ZH: "审核意见"},
    "student.change.applied_at": {EN: "Applied", ZH: "生效时间"},
    "student.change.answered_at": {EN: "Answered", ZH: "确认时间"},
    "student.change.dispute_reason": {EN: "Your dispute", ZH: "您的异议"},
    "student.change.before": {EN: "Before", ZH: "原值"},
    "student.change.after": {EN: "After", ZH: "新值"},
    "student.change.approved": {EN: "Approved", ZH: "已批准"},
    "student.change.documents": {EN: "Evidence", ZH: "证明材料"},
    "student.change.answer_title": {EN: "Is this change right?", ZH: "变更是否正确？"},
    "student.change.answer_intro": {
        EN: "The change was written to your records. Confirm it, or dispute it if it is wrong: "
        "a disputed change goes back to review.",
        ZH: "该变更已写入您的档案。请确认；如有错误请提出异议，异议将退回重新审核。",
    },
    "student.change.code": {EN: "Confirmation code", ZH: "确认码"},
    "student.change.code_hint": {
        EN: "No open code was found in your notifications: type the code you received.",
        ZH: "未在您的通知中找到可用的确认码，请输入您收到的确认码。",
    },
    "student.change.confirm": {EN: "Confirm the change", ZH: "确认变更"},
    "student.change.dispute_label": {EN: "What is wrong?", ZH: "异议理由"},
    "student.change.dispute": {EN: "Dispute the change", ZH: "提出异议"},
    "student.notifications.title": {EN: "Notifications", ZH: "通知"},
    "student.notifications.none": {EN: "No notifications.", ZH: "暂无通知。"},
    "student.notifications.answer": {EN: "Confirm or dispute", ZH: "确认或提出异议"},
    "student.notifications.open": {EN: "See the change", ZH: "查看变更"},
}

_RIGHTS: Mapping[str, Mapping[Locale, str]] = {
    "student.consents.title": {EN: "My consents", ZH: "我的授权同意"},
    "student.consents.intro": {
        EN: "You decide what the school may use your data for, and may withdraw a consent at "
        "any time. A withdrawn consent stays on record.",
        ZH: "您决定学校可将您的信息用于哪些用途，并可随时撤回同意。撤回的同意仍保留记录。",
    },
    "student.consents.none": {EN: "No consent on record.", ZH: "暂无同意记录。"},
    "student.consents.purpose": {EN: "Purpose", ZH: "用途"},
    "student.consents.given_by": {EN: "Given by", ZH: "同意人"},
    "student.consents.granted_at": {EN: "Given", ZH: "同意时间"},
    "student.consents.state": {EN: "State", ZH: "状态"},
    "student.consents.active": {EN: "active", ZH: "有效"},
    "student.consents.withdrawn": {EN: "withdrawn {at}", ZH: "已于{at}撤回"},
    "student.consents.withdraw": {EN: "Withdraw", ZH: "撤回"},
    "student.consents.withdraw_confirm": {EN: "Withdraw this consent?", ZH: "确定撤回该同意？"},
    "student.consents.grant_title": {EN: "Give a consent", ZH: "授予同意"},
    "student.consents.grant": {EN: "I consent", ZH: "我同意"},
    "student.consents.all_given": {
        EN: "Every purpose has an active consent.",
        ZH: "所有用途均已有有效的同意。",
    },
    "student.purpose.processing": {
        EN: "Processing of my personal information for my studies",
        ZH: "为学习目的处理我的个人信息",
    },
    "student.purpose.marketing": {
        EN: "News and offers from the school",
        ZH: "接收学校的资讯与优惠",
    },
    "student.purpose.exam_board": {
        EN: "Passing my data to exam boards",
        ZH: "向考试机构提供我的信息",
    },
    "student.purpose.photos": {
        EN: "Photos of me in school materials",
        ZH: "在学校资料中使用我的照片",
    },
    "student.purpose.third_party": {
        EN: "Passing my data to other third parties",
        ZH: "向其他第三方提供我的信息",
    },
    "student.giver.student": {EN: "me", ZH: "本人"},
    "student.giver.guardian": {EN: "my guardian", ZH: "监护人"},
    "student.disclosures.title": {EN: "Who received my data", ZH: "我的信息提供记录"},
    "student.disclosures.intro": {
        EN: "Every time the school passed your data to someone else.",
        ZH: "学校每次向他人提供您的信息的记录。",
    },
    "student.disclosures.none": {EN: "Nobody.", ZH: "无。"},
    "student.disclosures.at": {EN: "When", ZH: "时间"},
    "student.disclosures.recipient": {EN: "Recipient", ZH: "接收方"},
    "student.reads.title": {EN: "Who viewed my record", ZH: "谁查阅了我的档案"},
    "student.reads.intro": {
        EN: "Every time someone at the school saw your personal details unmasked or opened "
        "your documents: who (their role and name), when, and which kind of data.",
        ZH: "学校人员每次查看您未脱敏的个人信息或打开您的档案文件，都会记录："
        "查阅人（角色与名称）、时间、数据类别。",
    },
    "student.reads.at": {EN: "When", ZH: "时间"},
    "student.reads.viewer": {EN: "Who", ZH: "查阅人"},
    "student.reads.role": {EN: "Role", ZH: "角色"},
    "student.reads.kinds": {EN: "Data", ZH: "数据类别"},
    "student.reads.none": {EN: "Nobody yet.", ZH: "暂无查阅记录。"},
    "student.reads.older": {EN: "Older", ZH: "更早的记录"},
    "student.destruction.title": {EN: "Destruction of my data", ZH: "资料销毁"},
    "student.destruction.intro": {
        EN: "Once your studies are completed or you have withdrawn, you may ask the school to "
        "destroy your personal data. A second person approves the request; the data is then "
        "destroyed and a certificate issued. Payment records stay, without your name, as the "
        "accounting rules require.",
        ZH: "结课或退学后，您可申请销毁个人资料。申请经另一名工作人员审批后执行销毁并出具销毁证明。"
        "按会计档案规定，缴费记录将以不含姓名的方式保留。",
    },
    "student.destruction.requests": {EN: "My requests", ZH: "我的申请"},
    "student.destruction.none": {EN: "No request.", ZH: "暂无申请。"},
    "student.destruction.reason": {EN: "Reason", ZH: "申请理由"},
    "student.destruction.progress": {EN: "Progress", ZH: "进展"},
    "student.destruction.on_hold": {
        EN: "A legal hold delays the destruction.",
        ZH: "存在法律保留，暂缓销毁。",
    },
    "student.destruction.reviewed": {EN: "Reviewed {at}", ZH: "审核时间：{at}"},
    "student.destruction.executed": {EN: "Destroyed {at}", ZH: "销毁时间：{at}"},
    "student.destruction.certificate": {EN: "Certificate", ZH: "销毁证明编号"},
    "student.destruction.ask_title": {EN: "Ask for destruction", ZH: "申请销毁"},
    "student.destruction.only_when": {
        EN: "Possible only when your status is completed or withdrawn.",
        ZH: "仅在档案状态为已结课或退学时可申请。",
    },
    "student.destruction.submit": {EN: "Ask to destroy my data", ZH: "申请销毁我的资料"},
    "student.destruction.confirm": {
        EN: "Ask for your data to be destroyed? Once executed it cannot be undone.",
        ZH: "确定申请销毁资料？执行后无法恢复。",
    },
    "student.destruction_status.submitted": {EN: "Awaiting approval", ZH: "待审批"},
    "student.destruction_status.approved": {EN: "Approved", ZH: "已批准"},
    "student.destruction_status.executed": {EN: "Destroyed", ZH: "已销毁"},
    "student.destruction_status.rejected": {EN: "Rejected", ZH: "已驳回"},
    "student.destruction_status.cancelled": {EN: "Cancelled", ZH: "已撤销"},
    "student.export.title": {EN: "Download my data", ZH: "下载我的资料"},
    "student.export.intro": {
        EN: "A copy of everything the school holds about you — personal details, learning "
        "needs, courses, payments, status history, consents, requests, who received your data, "
        "and your documents — as one JSON file.",
        ZH: "学校所存您的全部信息的副本——个人信息、学习需求、课程、缴费、档案分类记录、同意、"
        "申请、信息提供记录及您的文件——以一个 JSON 文件提供。",
    },
    "student.export.button": {EN: "Download (JSON)", ZH: "下载（JSON）"},
    "student.export.logged": {
        EN: "Each download is recorded in the audit trail.",
        ZH: "每次下载均记入审计日志。",
    },
    "student.feedback.title": {EN: "Feedback", ZH: "意见反馈"},
    "student.feedback.intro": {
        EN: "Tell the school what works and what does not; the managers read every message.",
        ZH: "欢迎告诉学校哪些做得好、哪些需要改进，管理人员会阅读每一条反馈。",
    },
    "student.feedback.topic": {EN: "Topic", ZH: "主题"},
    "student.feedback.text": {EN: "Your feedback", ZH: "反馈内容"},
    "student.feedback.anonymous": {
        EN: "Send anonymously (the school will not know it was you)",
        ZH: "匿名提交（学校不会知道提交人）",
    },
    "student.feedback.submit": {EN: "Send", ZH: "提交"},
    "student.topic.courses": {EN: "Courses and teaching", ZH: "课程与教学"},
    "student.topic.registration": {EN: "Registration", ZH: "报名"},
    "student.topic.changes": {EN: "Changes to my records", ZH: "信息变更"},
    "student.topic.privacy": {EN: "Privacy", ZH: "隐私"},
    "student.topic.other": {EN: "Other", ZH: "其他"},
}

TEXT: Mapping[str, Mapping[Locale, str]] = {
    **_NAV,
    **_DONE,
    **_OVERVIEW,
    **_FIELDS,
    **_CHANGES,
    **_RIGHTS,
}
