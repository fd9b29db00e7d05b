"""Pure value rules: each function returns the normalised value or raises `Invalid`.

No pluggy here and no clock: functions that depend on the date take ``today``.
`Invalid` carries a rule code of the message catalogue and parameters that
never include the submitted value, so the caller can turn it into a
`dossier.core.errors.Problem` for any field path.

Written forms accepted on input:

* Half-width (ASCII) and full-width (全角) digits, Latin letters, ``+``, ``-``,
  parentheses and spaces are accepted in numbers (ID numbers, passports,
  phones): Chinese input methods in full-width mode produce ``１３８…``, and
  folding them is what NFKC would do for that block. Other Unicode digits
  (Arabic-Indic, superscripts, circled ``①``) are rejected.
* Names keep their code points as entered (no NFC/NFKC): NFC would silently
  replace CJK compatibility ideographs, which some people's ID cards use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date

from dossier.core.enums import IdDocumentType

ParamValue = str | int

# -- the error ---------------------------------------------------------------------------


class Invalid(ValueError):
    """A value broke ``rule``; ``params`` fill the rule's message and never hold the value."""

    def __init__(self, rule: str, params: Mapping[str, ParamValue] | None = None) -> None:
        self.rule = rule
        self.params: dict[str, ParamValue] = dict(params or {})
        super().__init__(rule, self.params)


# -- limits ------------------------------------------------------------------------------

NAME_MAX = 50
ADDRESS_MAX = 200
FREE_TEXT_MAX = 500
EMAIL_MAX = 254
EMAIL_LOCAL_MAX = 64
PASSPORT_MIN = 5
PASSPORT_MAX = 20
AGE_MIN = 2
AGE_MAX = 100
EARLIEST_BIRTH_YEAR = 1900

CN_MOBILE_EXPECTED = "+86 1XXXXXXXXXX"
HK_PHONE_EXPECTED = "+852 XXXXXXXX"
HKID_EXPECTED = "A123456(7)"

# -- shared helpers ----------------------------------------------------------------------

# Full-width forms U+FF01–U+FF5E map onto ASCII U+0021–U+007E; U+3000 is the ideographic space.
_FULL_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_width(value: str) -> str:
    """Replace full-width forms (``１３８``, ``＋``, ``Ａ``) and U+3000 by their ASCII twins."""
    return value.translate(_FULL_WIDTH)


def _compact(value: str) -> str:
    """Fold full-width forms and remove every space (spaces inside ID numbers are cosmetic)."""
    return fold_width(value).replace(" ", "")


def is_control(ch: str) -> bool:
    """Control (Cc) or format (Cf: zero-width, bidi overrides U+202A–202E, U+2066–2069, BOM…)."""
    return unicodedata.category(ch) in ("Cc", "Cf")


def age_on(birth: date, today: date) -> int:
    """Age in whole years (周岁) on ``today``.

    Someone born on 29 February becomes a year older on 1 March in a common
    year (the birthday has not been reached on 28 February).
    """
    years = today.year - birth.year
    if (today.month, today.day) < (birth.month, birth.day):
        years -= 1
    return years


# -- PRC resident identity card (居民身份证, GB 11643-1999) -----------------------------------

_PRC_ID = re.compile(r"[1-9][0-9]{16}[0-9X]")
_PRC_DOC = {"document": IdDocumentType.PRC_RESIDENT_ID.value}


def prc_id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits (``X`` stands for 10)."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(first17))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def prc_id_birth_date(number: str) -> date:
    """The birth date (出生日期码, YYYYMMDD at positions 7–14) inside a well-formed number.

    Raises `Invalid` (``id_number_format``) when ``number`` is not 17 digits
    plus a check character, and (``id_number_birth_date``) when the eight
    digits are not a calendar date. Does not check the range or the checksum:
    use `prc_resident_id` for that.
    """
    compact = _compact(number).upper()
    if not _PRC_ID.fullmatch(compact):
        raise Invalid("id_number_format", _PRC_DOC)
    try:
        return date(int(compact[6:10]), int(compact[10:12]), int(compact[12:14]))
    except ValueError:
        raise Invalid("id_number_birth_date", _PRC_DOC) from None


def prc_resident_id(value: str, today: date) -> str:
    """Validate an 18-character PRC resident ID number; return it without spaces, ``X`` upper case.

    Checks, in order: the shape (first digit 1–9, 17 digits, check
    character 0–9/X) → ``id_number_format``; the MOD 11-2 check character →
    ``id_number_checksum``; the embedded birth date being a real date from
    1900 up to ``today`` → ``id_number_birth_date``. Params: ``document``.
    """
    number = _compact(value).upper()
    if not _PRC_ID.fullmatch(number):
        raise Invalid("id_number_format", _PRC_DOC)
    if prc_id_check_character(number[:17]) != number[17]:
        raise Invalid("id_number_checksum", _PRC_DOC)
    born = prc_id_birth_date(number)
    if born.year < EARLIEST_BIRTH_YEAR or born > today:
        raise Invalid("id_number_birth_date", _PRC_DOC)
    return number


# -- passports and permits ---------------------------------------------------------------

_PASSPORT = re.compile(rf"[A-Z0-9]{{{PASSPORT_MIN},{PASSPORT_MAX}}}")
_HK_MACAO_PERMIT = re.compile(r"C[A-Z0-9][0-9]{7}")


def passport_number(value: str) -> str:
    """A passport number of any country: 5–20 Latin letters and digits once spaces are removed.

    Normalised to upper case (China's ``E12345678`` and others alike); the
    issuing country's own format is not checked.
    """
    number = _compact(value).upper()
    if not _PASSPORT.fullmatch(number):
        raise Invalid("id_number_format", {"document": IdDocumentType.PASSPORT.value})
    return number


def hk_macao_permit(value: str) -> str:
    """往来港澳通行证 (the card issued since 2014): ``C`` + a letter or digit + 7 digits.

    Kept deliberately simple: nine characters, no check character (none is
    published). Spaces removed, upper case.
    """
    number = _compact(value).upper()
    if not _HK_MACAO_PERMIT.fullmatch(number):
        raise Invalid("id_number_format", {"document": IdDocumentType.HK_MACAO_PERMIT.value})
    return number


# -- Hong Kong identity card (香港身份证) -----------------------------------------------------

_HKID = re.compile(r"([A-Z]{1,2})([0-9]{6})(?:\(([0-9A])\)|([0-9A]))")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def hkid_check_digit(prefix: str, digits: str) -> str:
    """The HKID check digit for a 1–2 letter prefix and 6 digits (``0``–``9`` or ``A`` for 10).

    Letters count 10–35 (A–Z); a one-letter prefix is padded with a leading
    space worth 36. Weights 9…2 over the eight positions; check =
    (11 − sum mod 11) mod 11.
    """
    if not 1 <= len(prefix) <= 2 or not all(ch in _LETTERS for ch in prefix):
        raise ValueError("prefix must be one or two capital letters")
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
        raise ValueError("need exactly 6 ASCII digits")
    values = [36] if len(prefix) == 1 else []
    values += [10 + _LETTERS.index(ch) for ch in prefix]
    values += [int(d) for d in digits]
    total = sum(value * weight for value, weight in zip(values, range(9, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


def hkid(value: str) -> str:
    """Validate a Hong Kong identity card number; return it as ``A1234563`` (no parentheses).

    Accepts ``A123456(3)``, ``AB123456(9)`` and the same without parentheses
    (lower case and spaces tolerated). The normalised form drops the
    parentheses: prefix, six digits and check character run together.
    Raises ``hkid_format`` (params ``expected``) or ``hkid_checksum``; their
    templates come from the ``hongkong`` plugin, the only one accepting HKIDs.
    """
    number = _compact(value).upper()
    match = _HKID.fullmatch(number)
    if match is None:
        raise Invalid("hkid_format", {"expected": HKID_EXPECTED})
    prefix, digits, bracketed, bare = match.groups()
    check = bracketed or bare
    if hkid_check_digit(prefix, digits) != check:
        raise Invalid("hkid_checksum", {"document": IdDocumentType.HKID.value})
    return f"{prefix}{digits}{check}"


# -- phones ------------------------------------------------------------------------------

# An optional ``+`` (and one space), then digits with at most one space or hyphen between two.
_PHONE_SHAPE = re.compile(r"(\+ ?)?([0-9](?:[ -]?[0-9])*)")
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_HK_NUMBER = re.compile(r"[2-9][0-9]{7}")


def _phone_digits(value: str) -> tuple[bool, str] | None:
    """(had a ``+``/``00`` prefix, the digits after it), or None when not phone-shaped."""
    match = _PHONE_SHAPE.fullmatch(fold_width(value).strip())
    if match is None:
        return None
    plus, body = match.groups()
    digits = re.sub(r"[ -]", "", body)
    if plus is None and digits.startswith("00"):
        return True, digits[2:]
    return plus is not None, digits


def cn_mobile(value: str) -> str:
    """A mainland-China mobile number (手机号), normalised to E.164 ``+8613800138000``.

    Accepts 11 digits ``1[3-9]…`` written plain, grouped by spaces or
    hyphens, with ``+86``/``0086`` or a bare ``86`` country code, in half- or
    full-width. Landlines, other lengths and letters raise ``phone_format``
    with params ``expected``.
    """
    parsed = _phone_digits(value)
    national: str | None = None
    if parsed is not None:
        international, digits = parsed
        if digits.startswith("86") and len(digits) == 13:
            national = digits[2:]
        elif not international and len(digits) == 11:
            national = digits
    if national is None or not _CN_MOBILE.fullmatch(national):
        raise Invalid("phone_format", {"expected": CN_MOBILE_EXPECTED})
    return "+86" + national


def looks_like_hk_phone(value: str) -> bool:
    """Written as a Hong Kong number: ``+852``/``00852``/``852`` + 8 digits, or exactly 8 digits.

    Only the shape is judged here (``+852 1234`` looks like one and is then
    rejected by `hk_phone`); a mainland mobile never looks like one.
    """
    parsed = _phone_digits(value)
    if parsed is None:
        stripped = fold_width(value).strip()
        return stripped.startswith(("+852", "00852"))
    international, digits = parsed
    if international:
        return digits.startswith("852")
    return len(digits) == 8 or (len(digits) == 11 and digits.startswith("852"))


def hk_phone(value: str) -> str:
    """A Hong Kong number: 8 digits starting 2–9, optional ``+852``/``00852``/``852``; → ``+852…``.

    Raises ``phone_format`` with params ``expected``.
    """
    parsed = _phone_digits(value)
    local: str | None = None
    if parsed is not None:
        international, digits = parsed
        if digits.startswith("852") and len(digits) == 11:
            local = digits[3:]
        elif not international and len(digits) == 8:
            local = digits
    if local is None or not _HK_NUMBER.fullmatch(local):
        raise Invalid("phone_format", {"expected": HK_PHONE_EXPECTED})
    return "+852" + local


# -- e-mail ------------------------------------------------------------------------------

# RFC 5322 dot-atom: no quoted local parts, no comments, no IP-literal domains.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_IDEOGRAPHIC_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def email_address(value: str) -> str:
    """An e-mail address: ``local@domain``, the domain lower-cased; raises ``email_format``.

    The local part is an ASCII dot-atom of at most 64 characters, kept as
    given. The domain needs two or more labels; internationalised domains
    (``例子.中国``) are accepted when their IDNA (``xn--``) form is made of
    letter-digit-hyphen labels of at most 63 characters and a non-numeric
    top-level label. Ideographic full stops (``。``) count as dots. The whole
    address is at most 254 characters, in the given form and in ASCII form.
    """
    text = value.strip()
    local, at, domain = text.partition("@")
    if not at or "@" in domain or not local or len(local) > EMAIL_LOCAL_MAX:
        raise Invalid("email_format")
    if not _LOCAL.fullmatch(local):
        raise Invalid("email_format")
    domain = domain.translate(_IDEOGRAPHIC_STOPS).lower()
    if any(ch.isspace() or is_control(ch) for ch in domain):
        raise Invalid("email_format")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise Invalid("email_format") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LDH_LABEL.fullmatch(label) for label in labels):
        raise Invalid("email_format")
    if labels[-1].isdigit():
        raise Invalid("email_format")
    normalised = f"{local}@{domain}"
    if max(len(normalised), len(local) + 1 + len(ascii_domain)) > EMAIL_MAX:
        raise Invalid("email_format")
    return normalised


# -- names -------------------------------------------------------------------------------

_CJK_RANGES = (
    (0x3400, 0x4DBF),  # Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # Compatibility Ideographs
    (0x20000, 0x323AF),  # Extensions B–H (生僻字 in some names)
    (0x2F800, 0x2FA1F),  # Compatibility Ideographs Supplement
)
NAME_PUNCTUATION = frozenset(" \u00b7\u2022-'\u2019")
"""Space, middle dots ``·`` and ``•`` (阿依古丽·买买提), hyphen, apostrophes ``'`` and ``’``."""


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(low <= cp <= high for low, high in _CJK_RANGES)


def _is_latin_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L") and unicodedata.name(ch, "").startswith(
        "LATIN "
    )


def _is_combining_diacritic(ch: str) -> bool:
    return 0x0300 <= ord(ch) <= 0x036F


def person_name(value: str) -> str:
    """A person's name in Chinese characters and/or Latin letters; stripped, spaces collapsed.

    Any control or format character anywhere (including tab, newline,
    zero-width and bidi controls) → ``control_characters``; empty →
    ``required``; longer than 50 → ``too_long``; digits, symbols or other
    scripts → ``name_characters``. Allowed: CJK ideographs (basic,
    Extensions A–H, compatibility), Latin letters with any accents
    (precomposed or followed by combining diacritics), and `NAME_PUNCTUATION`;
    at least one letter.
    """
    if any(is_control(ch) for ch in value):
        raise Invalid("control_characters")
    name = " ".join(value.split())
    if not name:
        raise Invalid("required")
    if len(name) > NAME_MAX:
        raise Invalid("too_long", {"max": NAME_MAX})
    has_letter = False
    previous_latin = False
    for ch in name:
        if _is_cjk(ch):
            has_letter, previous_latin = True, False
        elif _is_latin_letter(ch):
            has_letter, previous_latin = True, True
        elif _is_combining_diacritic(ch) and previous_latin:
            continue
        elif ch in NAME_PUNCTUATION:
            previous_latin = False
        else:
            raise Invalid("name_characters")
    if not has_letter:
        raise Invalid("name_characters")
    return name


# -- dates -------------------------------------------------------------------------------


def birth_date(value: date, today: date) -> date:
    """A plausible student's birth date.

    Not after ``today`` (``birth_date_future``), and an age of 2–100 whole
    years on ``today`` (``birth_date_implausible`` with params ``min``/``max``).
    """
    if value > today:
        raise Invalid("birth_date_future")
    if not AGE_MIN <= age_on(value, today) <= AGE_MAX:
        raise Invalid("birth_date_implausible", {"min": AGE_MIN, "max": AGE_MAX})
    return value


# -- text --------------------------------------------------------------------------------

_FREE_TEXT_CONTROLS = frozenset("\n\t")


def address(value: str) -> str:
    """A postal address on one line: stripped, at most 200 characters.

    Any control or format character anywhere, line breaks included →
    ``control_characters`` (checked before stripping, as for names).
    """
    if any(is_control(ch) for ch in value):
        raise Invalid("control_characters")
    text = value.strip()
    if len(text) > ADDRESS_MAX:
        raise Invalid("too_long", {"max": ADDRESS_MAX})
    return text


def free_text(value: str) -> str:
    """Free text: stripped, line breaks unified to ``\\n``, at most 500 characters.

    Newlines and tabs are allowed; every other control or format character
    (bidi overrides, zero-width characters…) → ``control_characters``.
    """
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if any(is_control(ch) and ch not in _FREE_TEXT_CONTROLS for ch in text):
        raise Invalid("control_characters")
    if len(text) > FREE_TEXT_MAX:
        raise Invalid("too_long", {"max": FREE_TEXT_MAX})
    return text
