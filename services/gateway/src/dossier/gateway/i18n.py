"""The pages' own words in zh-CN and en. Error messages come from the services, already
rendered in the request's language (``Accept-Language`` is passed on)."""

from __future__ import annotations

from collections.abc import Mapping

from dossier.core.enums import Gender, IdDocumentType, Locale
from dossier.core.messages import DEFAULT_CATALOGUE
from dossier.gateway.texts import field_labels

EN, ZH = Locale.EN, Locale.ZH_CN

COMMON: Mapping[str, Mapping[Locale, str]] = {
    "app.name": {EN: "Dossier student records", ZH: "学员档案系统"},
    "nav.home": {EN: "Home", ZH: "首页"},
    "nav.register": {EN: "Register online", ZH: "在线报名"},
    "nav.signin": {EN: "Sign in", ZH: "登录"},
    "nav.signout": {EN: "Sign out", ZH: "退出"},
    "nav.console": {EN: "Console", ZH: "工作台"},
    "nav.me": {EN: "My records", ZH: "我的档案"},
    "nav.language": {EN: "中文", ZH: "English"},
    "home.title": {EN: "Welcome", ZH: "欢迎"},
    "home.intro": {
        EN: "Register for a course online, or sign in to see your records.",
        ZH: "在线报名课程，或登录查看您的档案。",
    },
    "register.title": {EN: "Registration form", ZH: "学员报名表"},
    "register.branch": {EN: "Branch", ZH: "校区"},
    "register.applicant": {EN: "Applicant", ZH: "报名人信息"},
    "register.name": {EN: "Full name (as on the ID document)", ZH: "姓名（与证件一致）"},
    "register.email": {EN: "E-mail (optional)", ZH: "电子邮箱（选填）"},
    "register.address": {EN: "Address (optional)", ZH: "地址（选填）"},
    "register.phone_hint": {
        EN: "Like {example}; from another country or region, start with + and its code.",
        ZH: "格式如 {example}；其他国家或地区的号码请以“+国家或地区代码”开头。",
    },
    "register.needs": {EN: "Learning needs", ZH: "学习需求"},
    "register.guardian": {EN: "Guardian (for applicants under 18)", ZH: "监护人（未满18岁必填）"},
    "register.guardian_consent": {
        EN: "The guardian consents to this registration",
        ZH: "监护人同意本次报名",
    },
    "register.document": {EN: "Copy of the ID document", ZH: "证件复印件"},
    "register.document_hint": {
        EN: "JPEG, PNG or PDF, at most {max_kb} KB.",
        ZH: "JPEG、PNG 或 PDF，不超过 {max_kb} KB。",
    },
    "register.submit": {EN: "Submit registration", ZH: "提交报名"},
    "register.fix": {EN: "Please correct the fields marked below.", ZH: "请修改下面标出的内容。"},
    "register.done.title": {EN: "Registration received", ZH: "报名已提交"},
    "register.done.body": {
        EN: "Thank you. Your reference is {ref}. The school will review your registration.",
        ZH: "谢谢。您的报名编号为 {ref}。学校将审核您的报名。",
    },
    "signin.title": {EN: "Sign in", ZH: "登录"},
    "signin.login": {EN: "Login name or student number", ZH: "用户名或学号"},
    "signin.password": {EN: "Password", ZH: "密码"},
    "signin.submit": {EN: "Sign in", ZH: "登录"},
    "signin.invalid": {EN: "Wrong login name or password.", ZH: "用户名或密码错误。"},
    "signin.locked": {
        EN: "Too many failed attempts. Try again in 15 minutes.",
        ZH: "失败次数过多，请15分钟后再试。",
    },
    "activate.title": {EN: "Choose your password", ZH: "设置密码"},
    "activate.password": {
        EN: "New password (at least 10 characters)",
        ZH: "新密码（至少10个字符）",
    },
    "activate.submit": {EN: "Save and sign in", ZH: "保存并登录"},
    "activate.invalid": {
        EN: "This link is not valid any more. Ask the school for a new one.",
        ZH: "此链接已失效，请向学校索取新链接。",
    },
    "activate.weak": {
        EN: "The password must have at least 10 characters.",
        ZH: "密码至少需要10个字符。",
    },
    "error.title": {EN: "Something went wrong", ZH: "出错了"},
    "error.csrf": {
        EN: "This form has expired. Go back, reload the page and try again.",
        ZH: "表单已过期，请返回并刷新页面后重试。",
    },
    "error.signin_required": {EN: "Please sign in.", ZH: "请先登录。"},
    "error.forbidden": {
        EN: "Your account may not open this page.",
        ZH: "您的账户无权打开此页面。",
    },
    "error.not_found": {EN: "Nothing was found here.", ZH: "未找到该内容。"},
    "error.unavailable": {
        EN: "The service does not answer right now. Try again in a minute.",
        ZH: "服务暂时无响应，请稍后再试。",
    },
    "error.reference": {EN: "Reference for the school: {ref}", ZH: "供学校查询的编号：{ref}"},
    "gender.female": {EN: "female", ZH: "女"},
    "gender.male": {EN: "male", ZH: "男"},
    "gender.other": {EN: "other", ZH: "其他"},
    "gender.undisclosed": {EN: "prefer not to say", ZH: "不透露"},
    "common.save": {EN: "Save", ZH: "保存"},
    "common.back": {EN: "Back", ZH: "返回"},
    "common.none": {EN: "None.", ZH: "无。"},
}


REGISTER_FIELDS: Mapping[str, str] = {
    "register.gender": "applicant.gender",
    "register.birth_date": "applicant.birth_date",
    "register.id_type": "applicant.id_document.type",
    "register.id_number": "applicant.id_document.number",
    "register.phone": "applicant.phone",
    "register.passport_name": "applicant.passport_name",
    "register.target_language": "needs.target_language",
    "register.current_level": "needs.current_level",
    "register.goals": "needs.goals",
    "register.schedule": "needs.preferred_schedule",
    "register.guardian_name": "guardian.name",
    "register.guardian_relation": "guardian.relation",
    "register.guardian_phone": "guardian.phone",
}
"""The registration form's plain labels: the catalogue's labels of the fields they fill in, so
a message about a field names it as the form does."""


def _register_labels() -> dict[str, Mapping[Locale, str]]:
    labels = field_labels("", REGISTER_FIELDS.values())
    return {key: labels[path] for key, path in REGISTER_FIELDS.items()}


def _all() -> Mapping[str, Mapping[Locale, str]]:
    from dossier.gateway.texts import ops, staff, student

    merged: dict[str, Mapping[Locale, str]] = {}
    for part in (COMMON, _register_labels(), staff.TEXT, student.TEXT, ops.TEXT):
        clash = merged.keys() & part.keys()
        assert not clash, f"page text defined twice: {sorted(clash)}"
        merged.update(part)
    return merged


TEXT = _all()


def translate(key: str, locale: Locale, **params: object) -> str:
    entry = TEXT.get(key)
    if entry is None:
        return key
    text = entry.get(locale) or entry[EN]
    return text.format(**params) if params else text


def pick_locale(*candidates: str | None) -> Locale:
    """The first candidate that names a supported language (``zh``, ``zh-CN``, ``en-GB``…)."""
    for candidate in candidates:
        for part in (candidate or "").split(","):
            tag = part.split(";")[0].strip().lower()
            if tag.startswith("zh"):
                return ZH
            if tag.startswith("en"):
                return EN
    return ZH


def gender_options(locale: Locale) -> list[tuple[str, str]]:
    """(value, label) of every gender, for a select."""
    return [(g.value, translate(f"gender.{g.value}", locale)) for g in Gender]


def id_type_options(locale: Locale) -> list[tuple[str, str]]:
    """(value, label) of every ID document type, labelled by the core catalogue's terms."""
    return [(k.value, str(DEFAULT_CATALOGUE.term(k.value, locale))) for k in IdDocumentType]
