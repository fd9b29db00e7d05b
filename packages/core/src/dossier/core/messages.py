"""Message catalogue: rule code → template per locale (zh-CN and en).

Templates name the field (``{field}``) and the rule's parameters; they never
quote the submitted value, so a message can travel to logs and clients
without carrying personal data. Plugins add their own rules' texts through
the ``dossier_messages`` hook.

The one catalogue serves the services, the gateway and the CLI, and speaks in
the form's own words:

* ``{field}`` renders as the label the form shows (``field.<path>`` entries:
  ``applicant.birth_date`` → 出生日期 / date of birth; a list index counts
  from one: ``attachments[0].content`` → 附件 1 / attachment 1). A path with
  no label renders as itself (configuration keys, read by operators).
* A parameter value with a ``term.<value>`` entry renders as that term
  (``id_proof`` → 证件复印件, ``date`` → 日期（如 2008-05-17）); a value that is
  a labelled field path renders as its label; each item of an ``allowed`` list
  is a term of its own.
* Sizes (``max`` of `SIZE_RULES`) are given in bytes and render in MB.

The stable ``field`` path and ``rule`` code stay in the structured error for
programs; only the text is in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from attrs import frozen

from dossier.core.enums import Locale

Templates = Mapping[str, Mapping[Locale, str]]


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


SIZE_RULES = frozenset({"too_large", "payload_too_large"})
"""Rules whose ``max`` parameter is a size in bytes, rendered in MB."""

_INDEX = re.compile(r"\[(\d+)\]")
MEBIBYTE = 1024 * 1024


def megabytes(size: int) -> str:
    """``524288`` → ``0.5``, ``20971520`` → ``20``: a size in MB (MiB) for people."""
    text = f"{size / MEBIBYTE:.1f}"
    return text.removesuffix(".0")


RAW_PARAMS = frozenset({"operation", "reason", "request_id", "where"})
"""Parameters shown as they are: an object store operation (``list``) or a policy operation is
not a type name, even where a term of the same spelling exists."""


@frozen
class Catalogue:
    templates: Templates

    def render(self, rule: str, locale: Locale, field: str, params: Mapping[str, str | int]) -> str:
        """The rule's message for ``field`` in ``locale``: the field's label, parameters as
        terms of the form (codes and type names never reach a person), except `RAW_PARAMS`."""
        known = self.known_label(field, locale)
        label = field if known is None else known
        by_locale = self.templates.get(rule)
        if by_locale is None:
            return f"{label}: {rule}" if field else rule
        template = by_locale.get(locale) or by_locale.get(Locale.EN) or rule
        localised: dict[str, object] = {}
        for name, value in params.items():
            if name == "max" and rule in SIZE_RULES and isinstance(value, int):
                localised[name] = megabytes(value)
            elif name in RAW_PARAMS:
                localised[name] = value
            elif name == "allowed" and isinstance(value, str):
                localised[name] = ", ".join(str(self.term(v, locale)) for v in value.split(", "))
            else:
                localised[name] = self.term(value, locale)
        text = template.format_map(_Blank(localised, field=label))
        if known is not None and template.startswith("{field}") and locale is Locale.EN:
            text = text[:1].upper() + text[1:]
        return text

    def label(self, path: str, locale: Locale) -> str:
        """The label a form shows for a field path; the path itself when it has none.

        Indexes count from one (``attachments[0].content`` → attachment 1); the
        path is looked up whole (``branches.SH01.name`` is not a person's name).
        """
        text = self.known_label(path, locale)
        return path if text is None else text

    def known_label(self, path: str, locale: Locale) -> str | None:
        if not path:
            return None
        by_locale = self.templates.get("field." + _INDEX.sub("[]", path))
        if by_locale is None:
            return None
        template = by_locale.get(locale) or by_locale.get(Locale.EN) or ""
        numbers = [int(i) + 1 for i in _INDEX.findall(path)] or [1]
        return template.format(n=numbers[0])

    def term(self, value: str | int, locale: Locale) -> str | int:
        """A parameter value with a ``term.<value>`` entry renders as that term (证件名称…);
        a labelled field path (``personal.phone``) renders as its label."""
        if not isinstance(value, str):
            return value
        by_locale = self.templates.get(f"term.{value}")
        if by_locale is None:
            known = self.known_label(value, locale) if _PATHLIKE.fullmatch(value) else None
            return value if known is None else known
        return by_locale.get(locale) or by_locale.get(Locale.EN) or value

    def merged(self, extra: Templates) -> Catalogue:
        combined: dict[str, Mapping[Locale, str]] = dict(self.templates)
        combined.update(extra)
        return Catalogue(combined)

    def missing_translations(self) -> list[tuple[str, Locale]]:
        return [
            (rule, locale)
            for rule, by_locale in self.templates.items()
            for locale in Locale
            if locale not in by_locale
        ]


_PATHLIKE = re.compile(r"[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)+")
"""A dotted field path given as a parameter (``personal.phone``): it renders as its label."""


def _t(en: str, zh: str) -> Mapping[Locale, str]:
    return {Locale.EN: en, Locale.ZH_CN: zh}


FIELD_LABELS: Templates = {
    # the registration form (报名表) and the dossier's personal details
    **{
        f"field.{group}.{name}": texts
        for group in ("applicant", "personal")
        for name, texts in {
            "name": _t("name", "姓名"),
            "passport_name": _t("name as in the passport", "护照上的姓名"),
            "gender": _t("gender", "性别"),
            "birth_date": _t("date of birth", "出生日期"),
            "id_document": _t("ID document", "证件"),
            "id_document.type": _t("ID document type", "证件类型"),
            "id_document.number": _t("ID document number", "证件号码"),
            "phone": _t("mobile phone", "手机号码"),
            "email": _t("e-mail", "电子邮箱"),
            "address": _t("address", "地址"),
        }.items()
    },
    "field.applicant": _t("applicant", "报名人信息"),
    "field.personal": _t("personal details", "个人信息"),
    "field.guardian": _t("guardian", "监护人"),
    "field.guardian.name": _t("guardian's name", "监护人姓名"),
    "field.guardian.relation": _t("relation to the applicant", "与报名人关系"),
    "field.guardian.phone": _t("guardian's phone", "监护人电话"),
    "field.guardian.id_document": _t("guardian's ID document", "监护人证件"),
    "field.guardian.id_document.type": _t("guardian's ID document type", "监护人证件类型"),
    "field.guardian.id_document.number": _t("guardian's ID document number", "监护人证件号码"),
    "field.guardian_consent": _t("guardian's consent", "监护人同意"),
    "field.needs": _t("learning needs", "学习需求"),
    "field.needs.target_language": _t("language to learn", "目标语言"),
    "field.needs.current_level": _t("current level", "当前水平"),
    "field.needs.goals": _t("goals", "学习目标"),
    "field.needs.preferred_schedule": _t("preferred schedule", "上课时间偏好"),
    "field.documents": _t("documents", "文件"),
    "field.documents[]": _t("document {n}", "文件 {n}"),
    "field.attachments": _t("attachments", "附件"),
    "field.attachments[]": _t("attachment {n}", "附件 {n}"),
    "field.attachments[].content": _t("attachment {n}", "附件 {n}"),
    "field.attachments[].kind": _t("kind of attachment {n}", "附件 {n} 的类别"),
    "field.attachments[].media_type": _t("file type of attachment {n}", "附件 {n} 的文件类型"),
    "field.attachments[].sha256": _t("attachment {n}", "附件 {n}"),
    # single fields of the other forms, by name
    "field.name": _t("name", "姓名"),
    "field.phone": _t("mobile phone", "手机号码"),
    "field.birth_date": _t("date of birth", "出生日期"),
    "field.gender": _t("gender", "性别"),
    "field.email": _t("e-mail", "电子邮箱"),
    "field.address": _t("address", "地址"),
    "field.allow_duplicates": _t("admit despite probable duplicates", "确认仍然录取（疑似重复）"),
    "field.amount_minor": _t("amount", "金额"),
    "field.currency": _t("currency", "币种"),
    "field.method": _t("payment method", "缴费方式"),
    "field.paid_at": _t("date paid", "缴费时间"),
    "field.receipt_ref": _t("receipt number", "收据编号"),
    "field.course_code": _t("course code", "课程代码"),
    "field.course_name": _t("course name", "课程名称"),
    "field.starts_on": _t("start date", "开课日期"),
    "field.ends_on": _t("end date", "结课日期"),
    "field.ended_on": _t("end date", "结束日期"),
    "field.enrolment_id": _t("course enrolment", "选课记录"),
    "field.active_only": _t("active only", "仅显示有效记录"),
    "field.after": _t("position in the list", "列表位置"),
    "field.limit": _t("number of results", "结果数量"),
    "field.before": _t("older than", "早于"),
    "field.actor": _t("staff member", "员工"),
    "field.alert_id": _t("alert", "提醒"),
    "field.open_only": _t("open only", "仅显示未处理"),
    "field.anonymous": _t("anonymous", "匿名"),
    "field.branch": _t("branch", "校区"),
    "field.branches": _t("branches", "校区"),
    "field.branches[]": _t("branch {n}", "校区 {n}"),
    "field.channel": _t("channel", "报名渠道"),
    "field.comment": _t("comment", "备注"),
    "field.confirm": _t("confirmation", "确认"),
    "field.content": _t("file", "文件"),
    "field.kind": _t("kind of document", "文件类别"),
    "field.media_type": _t("file type", "文件类型"),
    "field.sha256": _t("file", "文件"),
    "field.format": _t("file format", "文件格式"),
    "field.source_system": _t("source system", "来源系统"),
    "field.strict": _t("all or nothing", "全部通过才导入"),
    "field.job_id": _t("import job", "导入任务"),
    "field.changes": _t("changes", "变更内容"),
    "field.changes[]": _t("change {n}", "第 {n} 项变更"),
    "field.changes[].field": _t("field of change {n}", "第 {n} 项变更的字段"),
    "field.changes[].before": _t("current value of change {n}", "第 {n} 项变更的原值"),
    "field.changes[].after": _t("new value of change {n}", "第 {n} 项变更的新值"),
    "field.change_id": _t("change request", "变更申请"),
    "field.fields": _t("fields", "字段"),
    "field.fields[]": _t("field {n}", "第 {n} 个字段"),
    "field.decision": _t("decision", "审批结果"),
    "field.reason": _t("reason", "原因"),
    "field.note": _t("note", "备注"),
    "field.effective_date": _t("effective date", "生效日期"),
    "field.status": _t("status", "状态"),
    "field.student_number": _t("student number", "学号"),
    "field.registration_id": _t("registration number", "报名编号"),
    "field.submitted_from": _t("submitted from", "提交起始时间"),
    "field.submitted_to": _t("submitted until", "提交截止时间"),
    "field.consent_id": _t("consent", "同意记录"),
    "field.given_by": _t("given by", "同意人"),
    "field.purpose": _t("purpose", "用途"),
    "field.recipient": _t("recipient", "接收方"),
    "field.hold_id": _t("legal hold", "法律保留"),
    "field.feedback_id": _t("feedback", "反馈"),
    "field.topic": _t("topic", "主题"),
    "field.text": _t("text", "内容"),
    "field.response": _t("response", "回复"),
    "field.unanswered_only": _t("unanswered only", "仅显示未回复"),
    "field.token": _t("confirmation code", "确认码"),
    "field.backup_id": _t("backup", "备份"),
    "field.certificate_id": _t("destruction certificate", "销毁证明"),
    "field.finding_id": _t("review finding", "审核发现"),
    "field.incremental": _t("incremental", "增量"),
    "field.quarter": _t("quarter", "季度"),
    "field.rule": _t("review rule", "审核规则"),
    "field.run_id": _t("review run", "审核批次"),
    "field.target": _t("target", "目标"),
    "field.request_id": _t("request", "请求"),
    "field.body": _t("the request", "请求内容"),
    "field.type": _t("kind of request", "请求类型"),
    # the confidentiality policy (保密承诺) and training records (培训记录)
    "field.version": _t("policy version", "制度版本"),
    "field.text_zh": _t("policy text (Chinese)", "制度正文（中文）"),
    "field.text_en": _t("policy text (English)", "制度正文（英文）"),
    "field.held_on": _t("training date", "培训日期"),
    "field.trainer": _t("trainer", "培训讲师"),
    "field.attendees": _t("attendees", "参训人员"),
    "field.attendees[]": _t("attendee {n}", "第 {n} 位参训人员"),
    "field.materials": _t("materials", "培训材料"),
    "field.materials[]": _t("material {n}", "第 {n} 份培训材料"),
    "field.files": _t("material files", "培训材料文件"),
    "field.files[]": _t("material file {n}", "第 {n} 个培训材料文件"),
    "field.files[].name": _t("name of material file {n}", "第 {n} 个培训材料文件的文件名"),
    "field.files[].media_type": _t(
        "file type of material file {n}", "第 {n} 个培训材料文件的文件类型"
    ),
    "field.files[].content": _t("material file {n}", "第 {n} 个培训材料文件"),
    "field.files[].sha256": _t("material file {n}", "第 {n} 个培训材料文件"),
    "field.training_id": _t("training session", "培训记录"),
    "field.document_id": _t("material file", "培训材料文件"),
}
"""The label each field path shows on its form (``field.<path>``, list indexes as ``[]`` and
``{n}`` for the position counted from one)."""


CORE_TEMPLATES: Templates = {
    # terms: parameter values that render as words
    "term.prc_resident_id": _t("PRC resident ID card", "居民身份证"),
    "term.passport": _t("passport", "护照"),
    "term.hkid": _t("Hong Kong identity card", "香港身份证"),
    "term.hk_macao_permit": _t("Exit-Entry Permit for Hong Kong and Macao", "往来港澳通行证"),
    "term.home_return_permit": _t(
        "Mainland Travel Permit for Hong Kong and Macao Residents", "港澳居民来往内地通行证"
    ),
    "term.taiwan_permit": _t(
        "Mainland Travel Permit for Taiwan Residents", "台湾居民来往大陆通行证"
    ),
    "term.other": _t("other", "其他"),
    # document kinds
    "term.registration_form": _t("registration form", "报名表"),
    "term.id_proof": _t("copy of the ID document", "证件复印件"),
    "term.payment_receipt": _t("payment receipt", "缴费凭证"),
    "term.change_evidence": _t("evidence for the change", "变更证明材料"),
    "term.destruction_form": _t("destruction request form", "资料销毁申请表"),
    # what a field expects (wrong_type)
    "term.text": _t("text", "文字"),
    "term.integer": _t("a whole number", "整数"),
    "term.boolean": _t("yes or no", "是或否"),
    "term.number": _t("a number", "数字"),
    "term.date": _t("a date such as 2008-05-17", "日期（如 2008-05-17）"),
    "term.timestamp": _t("a date and time", "日期和时间"),
    "term.list": _t("a list", "列表"),
    "term.object": _t("a group of fields", "一组字段"),
    "term.another_type": _t("another kind of value", "其他类型的值"),
    "term.amount": _t("an amount such as 6800.00", "金额（如 6800.00）"),
    "term.base64": _t("a file (base64)", "文件（base64 编码）"),
    "term.identity_document": _t("an ID document", "证件"),
    "term.id_document_text": _t("an ID document type and number", "证件类型和号码"),
    "term.currency_code": _t("a currency such as CNY", "币种（如 CNY）"),
    # what a duplicate matched on (the blind indexes' kinds)
    "term.id_document": _t("the same ID document", "相同证件"),
    "term.phone": _t("the same mobile phone", "相同手机号码"),
    "term.name_birth_phone": _t(
        "the same name, date of birth and mobile phone", "相同姓名、出生日期和手机号码"
    ),
    # choices (not_allowed_value)
    "term.female": _t("female", "女"),
    "term.male": _t("male", "男"),
    "term.undisclosed": _t("prefer not to say", "不透露"),
    "term.online": _t("online", "在线报名"),
    "term.front_desk": _t("front desk", "前台登记"),
    "term.import": _t("import", "导入"),
    # generic input rules
    "required": _t("{field} is required.", "{field}为必填项。"),
    "too_long": _t("{field} must be at most {max} characters.", "{field}最多{max}个字符。"),
    "too_short": _t("{field} must be at least {min} characters.", "{field}至少{min}个字符。"),
    "too_many": _t("{field} may list at most {max} items.", "{field}最多{max}项。"),
    "control_characters": _t(
        "{field} must not contain control or direction-override characters.",
        "{field}不能包含控制字符或文字方向控制字符。",
    ),
    "wrong_type": _t("{field} must be {expected}.", "{field}应为{expected}。"),
    "malformed_json": _t("The request body is not valid JSON.", "请求内容不是有效的JSON。"),
    "invalid_value": _t("{field} has a value that is not acceptable.", "{field}的值不可接受。"),
    "unknown_field": _t("{field} is not a known field.", "{field}不是可识别的字段。"),
    "not_allowed_value": _t("{field} must be one of: {allowed}.", "{field}只能是：{allowed}。"),
    "invalid_date": _t("{field} is not a valid date.", "{field}不是有效日期。"),
    "not_changeable": _t("{field} cannot be changed this way.", "{field}不能通过此方式修改。"),
    "unchanged": _t("{field} already has this value.", "{field}的新值与原值相同。"),
    "too_large": _t("{field} is larger than {max} MB.", "{field}超过{max} MB的上限。"),
    "content_type_mismatch": _t(
        "{field} does not contain what its declared media type says.",
        "{field}的内容与声明的文件类型不符。",
    ),
    "hash_mismatch": _t(
        "{field} does not match the content: the file was damaged or replaced on the way.",
        "{field}与文件内容不符：文件在传输中损坏或被替换。",
    ),
    "probable_duplicates": _t(
        "{count} probable duplicate(s) exist; review them, then confirm that the applicant is "
        "admitted all the same.",
        "存在{count}条疑似重复记录；请核对后确认仍然录取。",
    ),
    "duplicate_field": _t("{field} appears more than once.", "{field}重复出现。"),
    # imports (导入): the file, its rows and columns
    "unknown_column": _t(
        "The heading of column {column} is not a known column.", "第{column}列的列名无法识别。"
    ),
    "duplicate_column": _t(
        "Column {column} repeats the {field} column (column {first}).",
        "第{column}列与第{first}列重复，均为{field}列。",
    ),
    "missing_column": _t("The file has no {field} column.", "文件缺少{field}列。"),
    "no_header": _t("The file has no header row.", "文件没有标题行。"),
    "cell_without_header": _t(
        "Column {column} has a value but no heading.", "第{column}列有内容但没有列名。"
    ),
    "not_utf8": _t(
        "The file is not UTF-8 text; save it as “CSV UTF-8”.",
        "文件不是UTF-8编码；请另存为“CSV UTF-8”格式。",
    ),
    "malformed_csv": _t("The file is not well-formed CSV.", "文件不是格式正确的CSV。"),
    "unreadable_file": _t("The file cannot be read as {format}.", "无法按{format}格式读取该文件。"),
    "different_file": _t(
        "This is not the file the import started with.", "该文件与导入开始时的文件不一致。"
    ),
    "date_in_future": _t("{field} is in the future.", "{field}晚于今天。"),
    "before_birth_date": _t("{field} is before the birth date.", "{field}早于出生日期。"),
    "duplicate_in_file": _t(
        "{field}: the same student is in row {first_row} ({matched_on}).",
        "{field}：与第{first_row}行为同一学员（{matched_on}）。",
    ),
    "duplicate_in_chain": _t(
        "{field}: this student is already on record ({matched_on}).",
        "{field}：该学员已有档案或待审核报名（{matched_on}）。",
    ),
    # people
    "name_characters": _t(
        "{field} may contain letters (of any language), spaces, '·', '-', '.' and apostrophes "
        "only; no digits, symbols or emoji.",
        "{field}只能包含文字（任何语言）、空格、“·”、“-”、“.”和撇号，不能包含数字、符号或表情。",
    ),
    "birth_date_future": _t("{field} is in the future.", "{field}晚于今天。"),
    "birth_date_implausible": _t(
        "{field} gives an age outside {min}–{max} years.",
        "{field}对应的年龄不在{min}至{max}岁之间。",
    ),
    "guardian_required": _t(
        "A guardian is required for a student under {age}.", "未满{age}周岁的学员必须登记监护人。"
    ),
    "guardian_consent_required": _t(
        "A student under {age} needs the guardian's consent to the processing of personal "
        "information (PIPL Art. 31).",
        "未满{age}周岁的学员须取得监护人对处理个人信息的同意（《个人信息保护法》第三十一条）。",
    ),
    # identity documents
    "id_type_not_accepted": _t(
        "{field}: this branch does not accept this type of identity document.",
        "{field}：本校区不接受该类证件。",
    ),
    "id_number_format": _t(
        "{field} is not a well-formed {document} number.", "{field}不是格式正确的{document}号码。"
    ),
    "id_number_region": _t(
        "{field}: the first two digits of the {document} number are not a region code.",
        "{field}：{document}号码的前两位不是有效的地区代码。",
    ),
    "id_number_checksum": _t(
        "{field}: the check character of the {document} number is wrong.",
        "{field}：{document}号码的校验位不正确。",
    ),
    "id_number_birth_date": _t(
        "{field}: the birth date inside the {document} number is not a real date.",
        "{field}：{document}号码中的出生日期无效。",
    ),
    "id_birth_date_mismatch": _t(
        "{field} does not match the birth date inside the identity document number.",
        "{field}与证件号码中的出生日期不一致。",
    ),
    # contact
    "phone_format": _t(
        "{field} is not a valid phone number (like {expected}; a number of another country "
        "or region starts with + and its country code).",
        "{field}不是有效的电话号码（格式如{expected}；其他国家或地区的号码请以“+国家或地区代码”开头）。",
    ),
    "phone_not_mobile": _t(
        "{field} must be a mobile number that can receive text messages (like {expected}).",
        "{field}须为可接收短信的手机号码（格式如{expected}）。",
    ),
    "email_format": _t("{field} is not a valid e-mail address.", "{field}不是有效的电子邮箱地址。"),
    # student numbers
    "student_number_format": _t(
        "{field} is not a well-formed student number.", "{field}不是格式正确的学号。"
    ),
    "student_number_check": _t(
        "{field}: the check character of the student number is wrong.",
        "{field}：学号校验位不正确。",
    ),
    # documents
    "document_required": _t("A {kind} is required at this stage.", "此阶段需要提交{kind}。"),
    # errors
    "validation_failed": _t("The request has {count} problem(s).", "请求中有{count}处问题。"),
    "illegal_transition": _t(
        "A {lifecycle} in state '{state}' cannot '{action}' (allowed: {allowed}).",
        "处于“{state}”状态的{lifecycle}不能执行“{action}”（允许的操作：{allowed}）。",
    ),
    "transition_refused": _t(
        "The {lifecycle} cannot '{action}':", "{lifecycle}不能执行“{action}”："
    ),
    "not_found": _t("No {kind} '{ref}' was found.", "未找到{kind}“{ref}”。"),
    "conflict": _t(
        "The {kind} '{ref}' was changed by someone else; reload and try again.",
        "{kind}“{ref}”已被他人修改，请刷新后重试。",
    ),
    "destroyed": _t(
        "The data of student {student_number} was destroyed on {destroyed_on}.",
        "学员{student_number}的资料已于{destroyed_on}销毁。",
    ),
    "internal": _t("Internal error.", "内部错误。"),
    "backup_refused": _t("The backup cannot be used: {reason}.", "无法使用该备份：{reason}。"),
    "term.no_such_backup": _t("there is no such backup", "没有这个备份"),
    "term.target_not_empty": _t("the target database is not empty", "目标数据库不为空"),
    "term.no_base_backup": _t(
        "an incremental backup needs a full one first", "增量备份之前需要先有全量备份"
    ),
    "storage_error": _t(
        "The records store failed; nothing was changed.", "档案存储出错，未做任何修改。"
    ),
    "key_unavailable": _t(
        "A data key cannot be unwrapped with the configured master key.",
        "无法用当前主密钥解开数据密钥。",
    ),
    "integrity_failure": _t(
        "Stored data failed its integrity check ({where}).",
        "存储的数据未通过完整性校验（{where}）。",
    ),
    "object_store_error": _t(
        "Object store operation '{operation}' failed: {reason}.",
        "对象存储操作“{operation}”失败：{reason}。",
    ),
    "invalid_object_key": _t("Invalid object {what}: {reason}.", "无效的对象{what}：{reason}。"),
    "integrity_error": _t(
        "Integrity check failed for {ref}: {reason}.", "{ref}的完整性校验失败：{reason}。"
    ),
    "internal_error": _t(
        "Something went wrong on our side (request {request_id}); nothing was changed.",
        "系统内部错误（请求编号{request_id}），未做任何修改。",
    ),
    "token_missing": _t("The request carries no actor token.", "请求未携带身份令牌。"),
    "token_invalid": _t("The actor token is not valid.", "身份令牌无效。"),
    "token_expired": _t("The actor token has expired.", "身份令牌已过期。"),
    "payload_too_large": _t("The request is larger than {max} MB.", "请求大小超过{max} MB的上限。"),
    "idempotency_key_reused": _t(
        "This idempotency key was already used for a different request.",
        "该幂等键已用于另一个不同的请求。",
    ),
    "idempotency_key_invalid": _t(
        "The idempotency key must be 8–128 letters, digits, '-' or '_'.",
        "幂等键须为8至128个字母、数字、“-”或“_”。",
    ),
    "unavailable": _t(
        "The service is busy or restarting; retry with the same idempotency key.",
        "服务繁忙或正在重启，请使用相同的幂等键重试。",
    ),
    # guard and policy reasons
    "four_eyes": _t(
        "the person who made a request cannot approve it.", "申请人不能审批自己的申请。"
    ),
    "not_destroyable_status": _t(
        "only completed or withdrawn students can be destroyed.",
        "只有已结课或已退学学员的资料可以销毁。",
    ),
    "legal_hold": _t(
        "a legal hold blocks destruction until it is lifted.", "存在法律保留，解除前不能销毁。"
    ),
    "not_requester": _t(
        "only the student concerned can confirm or dispute a change.",
        "只有学员本人可以确认或异议该变更。",
    ),
    "destruction_needs_request": _t(
        "a dossier is destroyed only by executing an approved destruction request.",
        "只有执行已批准的销毁申请才能销毁档案。",
    ),
    "approved_fields_not_requested": _t(
        "the approved fields must be a non-empty subset of the requested ones.",
        "批准的字段必须是申请字段中的非空子集。",
    ),
    "student_mismatch": _t(
        "the request and the dossier are not the same student's.", "申请与档案不属于同一学员。"
    ),
    "access_denied": _t("You may not '{operation}'.", "您无权执行“{operation}”。"),
    "role_not_permitted": _t(
        "Your role does not allow '{operation}'.", "您的角色无权执行“{operation}”。"
    ),
    "branch_out_of_scope": _t(
        "'{operation}' is outside the branches you may act for.",
        "“{operation}”超出了您可操作的校区范围。",
    ),
    "not_own_record": _t("Students may only act on their own record.", "学员只能操作本人的档案。"),
    "self_approval": _t(
        "You cannot approve a request you made yourself (four-eyes rule).",
        "不能审批本人提交的申请（双人审核原则）。",
    ),
    "policy_not_acknowledged": _t(
        "'{operation}' needs unmasked personal data: acknowledge your branch's current "
        "confidentiality policy first.",
        "“{operation}”涉及未脱敏的个人信息：请先确认本校区现行的保密承诺。",
    ),
    "confirmation_token_invalid": _t(
        "The confirmation code is wrong, was already used, or belongs to another change.",
        "确认码错误、已被使用或不属于该变更。",
    ),
    # approvals
    "stale_change": _t(
        "The dossier changed after change request '{ref}' was based on it (version {based_on}, "
        "now {current}); re-base the request and review it again.",
        "变更申请“{ref}”所依据的档案已被修改（依据版本{based_on}，当前版本{current}）；"
        "请重新核对（rebase）后再审批。",
    ),
    "consent_required": _t(
        "The student has not consented to disclosure for '{purpose}'; nothing was disclosed.",
        "学员未同意为“{purpose}”披露其信息，未作任何披露。",
    ),
    "consent_already_active": _t(
        "an active consent for this purpose is already on record.",
        "该用途已有有效的同意记录。",
    ),
    # retention
    "open_findings": _t(
        "every finding of the run must be resolved or waived first.",
        "本次审核的所有发现须先处理或豁免。",
    ),
    "destruction_under_way": _t(
        "a destruction request for this student is already under way.",
        "该学员已有正在处理的资料销毁申请。",
    ),
}

DEFAULT_CATALOGUE = Catalogue({**FIELD_LABELS, **CORE_TEMPLATES})
