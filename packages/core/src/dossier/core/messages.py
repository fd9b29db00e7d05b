"""Message catalogue: rule code → template per locale (zh-CN and en).

Templates name the field (``{field}``) and the rule's parameters; they never
quote the submitted value, so a message can travel to logs and clients
without carrying personal data. Plugins add their own rules' texts through
the ``dossier_messages`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from dossier.core.enums import Locale

Templates = Mapping[str, Mapping[Locale, str]]


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@frozen
class Catalogue:
    templates: Templates

    def render(self, rule: str, locale: Locale, field: str, params: Mapping[str, str | int]) -> str:
        by_locale = self.templates.get(rule)
        if by_locale is None:
            return f"{field}: {rule}" if field else rule
        template = by_locale.get(locale) or by_locale.get(Locale.EN) or rule
        localised = {name: self.term(value, locale) for name, value in params.items()}
        return template.format_map(_Blank(localised, field=field))

    def term(self, value: str | int, locale: Locale) -> str | int:
        """A parameter value with a ``term.<value>`` entry renders as that term (证件名称…)."""
        if not isinstance(value, str):
            return value
        by_locale = self.templates.get(f"term.{value}")
        if by_locale is None:
            return value
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


def _t(en: str, zh: str) -> Mapping[Locale, str]:
    return {Locale.EN: en, Locale.ZH_CN: zh}


CORE_TEMPLATES: Templates = {
    # terms: parameter values that render as words
    "term.prc_resident_id": _t("PRC resident ID card", "居民身份证"),
    "term.passport": _t("passport", "护照"),
    "term.hkid": _t("Hong Kong identity card", "香港身份证"),
    "term.hk_macao_permit": _t("Exit-Entry Permit for Hong Kong and Macao", "往来港澳通行证"),
    "term.other": _t("other document", "其他证件"),
    # generic input rules
    "required": _t("{field} is required.", "{field}为必填项。"),
    "too_long": _t("{field} must be at most {max} characters.", "{field}最多{max}个字符。"),
    "too_short": _t("{field} must be at least {min} characters.", "{field}至少{min}个字符。"),
    "control_characters": _t(
        "{field} must not contain control or direction-override characters.",
        "{field}不能包含控制字符或文字方向控制字符。",
    ),
    "wrong_type": _t("{field} must be {expected}.", "{field}的类型应为{expected}。"),
    "malformed_json": _t("The request body is not valid JSON.", "请求内容不是有效的JSON。"),
    "invalid_value": _t("{field} has a value that is not acceptable.", "{field}的值不可接受。"),
    "unknown_field": _t("{field} is not a known field.", "{field}不是可识别的字段。"),
    "not_allowed_value": _t("{field} must be one of: {allowed}.", "{field}只能是：{allowed}。"),
    "invalid_date": _t("{field} is not a valid date.", "{field}不是有效日期。"),
    "not_changeable": _t("{field} cannot be changed this way.", "{field}不能通过此方式修改。"),
    "unchanged": _t("{field} already has this value.", "{field}的新值与原值相同。"),
    "too_large": _t("{field} is larger than {max} bytes.", "{field}超过{max}字节的上限。"),
    "content_type_mismatch": _t(
        "{field} does not contain what its declared media type says.",
        "{field}的内容与声明的文件类型不符。",
    ),
    "hash_mismatch": _t(
        "{field} does not match the content: the file was damaged or replaced on the way.",
        "{field}与文件内容不符：文件在传输中损坏或被替换。",
    ),
    "probable_duplicates": _t(
        "{count} probable duplicate(s) exist; review them and accept with allow_duplicates.",
        "存在{count}条疑似重复记录；请核对后以allow_duplicates确认录取。",
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
        "{field} may contain Chinese or Latin letters, spaces, '·', '-', and apostrophes only.",
        "{field}只能包含中文、拉丁字母、空格、“·”、“-”和撇号。",
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
        "{field} is not a phone number this branch accepts ({expected}).",
        "{field}不是本校区可接受的电话号码（{expected}）。",
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
    "document_required": _t(
        "A document of kind {kind} is required at this stage.", "此阶段需要提交{kind}类文件。"
    ),
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
    "payload_too_large": _t(
        "The request is larger than {max} bytes.", "请求大小超过{max}字节的上限。"
    ),
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

DEFAULT_CATALOGUE = Catalogue(CORE_TEMPLATES)
