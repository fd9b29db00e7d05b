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
* Phones go through libphonenumber (``phonenumbers``): any country, E.164.
* E-mail addresses go through ``email-validator`` (IDNA 2008), without DNS.
* Names have one normal form (`normalise_name`): NFC, width folded, one name
  separator ``·``, one hyphen, one apostrophe, one space, and no space between
  two Han characters. NFC maps the CJK compatibility ideographs onto their
  canonical (unified) twins, as every conforming system may do anyway: the
  stored name then compares equal to what another system sends back.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email

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
EMAIL_LOCAL_MAX = 64
ADDRESS_MAX = 200
FREE_TEXT_MAX = 500
PASSPORT_MIN = 5
PASSPORT_MAX = 20
AGE_MIN = 2
AGE_MAX = 100
EARLIEST_BIRTH_YEAR = 1900

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

PRC_PROVINCE_CODES = frozenset(
    {
        *range(11, 16),  # 北京 天津 河北 山西 内蒙古
        *range(21, 24),  # 辽宁 吉林 黑龙江
        *range(31, 38),  # 上海 江苏 浙江 安徽 福建 江西 山东
        *range(41, 47),  # 河南 湖北 湖南 广东 广西 海南
        *range(50, 55),  # 重庆 四川 贵州 云南 西藏
        *range(61, 66),  # 陕西 甘肃 青海 宁夏 新疆
        71,  # 台湾 (GB/T 2260)
        81,  # 香港: 港澳台居民居住证 of Hong Kong residents (810000)
        82,  # 澳门: the same permit of Macao residents (820000)
        83,  # 港澳台居民居住证 of Taiwan residents (830000)
    }
)
"""The province-level codes (省级行政区划代码) of GB/T 2260 that begin a valid number (the first two
of its six address digits, GB 11643-1999 §5.2), plus 81/82/83 of the residence permits for
Hong Kong, Macao and Taiwan residents (港澳台居民居住证, 2018), whose numbers follow GB 11643."""


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

    Checks, in order: blank → ``required``; the shape (first digit 1–9, 17
    digits, check character 0–9/X) → ``id_number_format``; the province code
    (`PRC_PROVINCE_CODES`) → ``id_number_region``; the MOD 11-2 check
    character → ``id_number_checksum``; the embedded birth date being a real
    date from 1900 up to ``today`` → ``id_number_birth_date``. Params: ``document``.
    """
    number = _compact(value).upper()
    if not number:
        raise Invalid("required")
    if not _PRC_ID.fullmatch(number):
        raise Invalid("id_number_format", _PRC_DOC)
    if int(number[:2]) not in PRC_PROVINCE_CODES:
        raise Invalid("id_number_region", _PRC_DOC)
    if prc_id_check_character(number[:17]) != number[17]:
        raise Invalid("id_number_checksum", _PRC_DOC)
    born = prc_id_birth_date(number)
    if born.year < EARLIEST_BIRTH_YEAR or born > today:
        raise Invalid("id_number_birth_date", _PRC_DOC)
    return number


# -- passports and permits ---------------------------------------------------------------

_PASSPORT = re.compile(rf"[A-Z0-9]{{{PASSPORT_MIN},{PASSPORT_MAX}}}")
_HK_MACAO_PERMIT = re.compile(r"C[A-Z0-9][0-9]{7}|W[0-9]{8}")
_HOME_RETURN_PERMIT = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")
_TAIWAN_PERMIT = re.compile(r"[0-9]{8}(?:[0-9]{2}|[A-Z])?")


def _document_number(value: str, document: IdDocumentType, shape: re.Pattern[str]) -> str:
    """Spaces, hyphens and brackets removed, upper case; ``required`` or ``id_number_format``."""
    number = re.sub(r"[ ()\-]", "", _compact(value)).upper()
    if not number:
        raise Invalid("required")
    if not shape.fullmatch(number):
        raise Invalid("id_number_format", {"document": document.value})
    return number


def passport_number(value: str) -> str:
    """A passport number of any country: 5–20 Latin letters and digits once spaces are removed.

    Normalised to upper case (China's ``E12345678`` and others alike); the
    issuing country's own format is not checked.
    """
    number = _compact(value).upper()
    if not number:
        raise Invalid("required")
    if not _PASSPORT.fullmatch(number):
        raise Invalid("id_number_format", {"document": IdDocumentType.PASSPORT.value})
    return number


def hk_macao_permit(value: str) -> str:
    """往来港澳通行证 (Exit-Entry Permit for Travelling to and from Hong Kong and Macao).

    Both forms still in use: the card issued since 2014, ``C`` + a letter or
    digit + 7 digits (``C12345678``, ``CA1234567``), and the older booklet,
    ``W`` + 8 digits (valid for five years, the last ones issued in 2014 run out
    in 2019 but are still presented as identity). No check character is
    published. Spaces removed, upper case.
    """
    return _document_number(value, IdDocumentType.HK_MACAO_PERMIT, _HK_MACAO_PERMIT)


def home_return_permit(value: str) -> str:
    """港澳居民来往内地通行证 (回乡证): ``H`` (Hong Kong) or ``M`` (Macao) + 8 digits.

    Older booklets and some cards print two more digits, the number of times
    the permit was issued (换证次数, ``H12345678 01``); they are kept. Spaces,
    hyphens and brackets removed, upper case.
    """
    return _document_number(value, IdDocumentType.HOME_RETURN_PERMIT, _HOME_RETURN_PERMIT)


def taiwan_permit(value: str) -> str:
    """台湾居民来往大陆通行证 (台胞证): 8 digits on the card issued since 2015.

    The older booklet numbers are also accepted: 10 digits, or 8 digits and a
    letter (the issue letter printed in brackets, ``12345678(B)``). Spaces,
    hyphens and brackets removed, upper case.
    """
    return _document_number(value, IdDocumentType.TAIWAN_PERMIT, _TAIWAN_PERMIT)


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
    Raises ``required``, ``hkid_format`` (params ``expected``) or
    ``hkid_checksum``; the last two templates come from the ``hongkong``
    plugin, the only one accepting HKIDs.
    """
    number = _compact(value).upper()
    if not number:
        raise Invalid("required")
    match = _HKID.fullmatch(number)
    if match is None:
        raise Invalid("hkid_format", {"expected": HKID_EXPECTED})
    prefix, digits, bracketed, bare = match.groups()
    check = bracketed or bare
    if hkid_check_digit(prefix, digits) != check:
        raise Invalid("hkid_checksum", {"document": IdDocumentType.HKID.value})
    return f"{prefix}{digits}{check}"


# -- phones (libphonenumber) -------------------------------------------------------------

_PhoneType = phonenumbers.PhoneNumberType
MOBILE_TYPES = frozenset({_PhoneType.MOBILE, _PhoneType.FIXED_LINE_OR_MOBILE})
"""A number that can receive text messages: the student's own contact."""
CALLABLE_TYPES = MOBILE_TYPES | {_PhoneType.FIXED_LINE}
"""A number a person answers: mobiles and landlines (a guardian's contact)."""

_PHONE_TYPE_NAMES: Mapping[int, str] = {
    _PhoneType.MOBILE: "mobile",
    _PhoneType.FIXED_LINE: "landline",
    _PhoneType.FIXED_LINE_OR_MOBILE: "landline_or_mobile",
    _PhoneType.TOLL_FREE: "toll_free",
    _PhoneType.PREMIUM_RATE: "premium_rate",
    _PhoneType.SHARED_COST: "shared_cost",
    _PhoneType.VOIP: "voip",
    _PhoneType.PERSONAL_NUMBER: "personal_number",
    _PhoneType.PAGER: "pager",
    _PhoneType.UAN: "uan",
    _PhoneType.VOICEMAIL: "voicemail",
}

# What a person types around a number: digits, one leading ``+``, spaces, hyphens, dots,
# slashes and brackets (after full-width forms are folded: ``（+86）`` becomes ``(+86)``).
_PHONE_CHARACTERS = re.compile(r"\(?\+?[0-9 ()./-]+")
DEFAULT_PHONE_REGION = "CN"


def phone_example(region: str) -> str:
    """The region's example mobile number in international form (``+86 131 2345 6789``)."""
    example = phonenumbers.example_number_for_type(region, _PhoneType.MOBILE)
    if example is None:
        return "+86 131 2345 6789"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_type(e164: str) -> str:
    """The kind of a valid number: ``mobile``, ``landline``, ``landline_or_mobile``, ``voip``…"""
    number = phonenumbers.parse(e164)
    return _PHONE_TYPE_NAMES.get(phonenumbers.number_type(number), "unknown")


def parse_phone(value: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The number ``value`` writes, read with ``region`` as the default country; None if invalid.

    Full-width forms are folded (``（+86）１３８…``); a leading ``00`` counts as
    ``+`` (the international prefix of mainland China and most countries);
    letters (vanity numbers, ``ext``) are refused; the number must be valid in
    libphonenumber's metadata (an allocated block of the right length).
    """
    text = fold_width(value).strip()
    if not _PHONE_CHARACTERS.fullmatch(text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def phone(value: str, region: str = DEFAULT_PHONE_REGION, *, mobile: bool = True) -> str:
    """A phone number of any country, normalised to E.164 (``+8613812345678``).

    ``region`` (ISO 3166 alpha-2, the branch's ``phone_region``) is the country
    of a number written without ``+``/``00``. With ``mobile`` (the student's own
    contact) the number must be able to receive text messages (`MOBILE_TYPES`);
    otherwise a landline will do (`CALLABLE_TYPES`: a guardian's). Raises
    ``required``, ``phone_format`` (not a valid number anywhere, or not in
    ``region`` when written without a country code) or ``phone_not_mobile``
    (a landline, a pager, a toll-free number…); params ``expected``: the
    region's example mobile in international form.
    """
    if any(is_control(ch) for ch in value):
        raise Invalid("control_characters")
    if not value.strip():
        raise Invalid("required")
    expected = {"expected": phone_example(region)}
    number = parse_phone(value, region)
    if number is None:
        raise Invalid("phone_format", expected)
    allowed = MOBILE_TYPES if mobile else CALLABLE_TYPES
    if phonenumbers.number_type(number) not in allowed:
        raise Invalid("phone_not_mobile" if mobile else "phone_format", expected)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- e-mail ------------------------------------------------------------------------------

_IDEOGRAPHIC_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def email_address(value: str) -> str:
    """An e-mail address, checked by ``email-validator`` without DNS; raises ``email_format``.

    The domain follows IDNA 2008 (UTS #46 mapping: ``ＥＸＡＭＰＬＥ.com`` is
    stored ``example.com``; ``☃.net`` is refused) and is stored lower case in
    Unicode form (``例子.中国``); ideographic full stops (``。``) count as dots.
    The local part is an ASCII dot-atom of at most 64 characters, kept as
    given (internationalised local parts need SMTPUTF8, which Chinese mail
    providers do not all accept); the whole address is at most 254
    characters. Blank → ``required``.
    """
    text = value.strip()
    if not text:
        raise Invalid("required")
    local, at, domain = text.rpartition("@")
    if len(local) > EMAIL_LOCAL_MAX:  # RFC 5321 §4.5.3.1.1; email-validator allows longer
        raise Invalid("email_format")
    if at:
        text = f"{local}@{domain.translate(_IDEOGRAPHIC_STOPS)}"
    try:
        checked = validate_email(
            text, check_deliverability=False, allow_smtputf8=False, allow_quoted_local=False
        )
    except EmailNotValidError:
        raise Invalid("email_format") from None
    return str(checked.normalized)


# -- names -------------------------------------------------------------------------------

_HAN_NEWER = ((0x2EBF0, 0x2EE5D), (0x31350, 0x323AF))
"""Extensions I (Unicode 15.1) and H (15.0): every code point assigned, but unknown to the
`unicodedata` of Python 3.11 (Unicode 14), which would call them unassigned."""


NAME_SCRIPTS = (
    "LATIN",
    "CYRILLIC",
    "GREEK",
    "HANGUL",
    "HIRAGANA",
    "KATAKANA",
    "THAI",
    "LAO",
    "KHMER",
    "MYANMAR",
    "ARABIC",
    "HEBREW",
    "DEVANAGARI",
    "BENGALI",
    "TAMIL",
    "MONGOLIAN",
    "TIBETAN",
    "YI ",
    "GEORGIAN",
    "ARMENIAN",
    "ETHIOPIC",
    "IDEOGRAPHIC ITERATION MARK",  # 々 (佐々木)
    "IDEOGRAPHIC NUMBER ZERO",  # 〇
    "MODIFIER LETTER",  # ʼ ʿ (Ukrainian, Arabic transliterations)
)
"""Scripts whose letters a name may hold, by the start of the Unicode character name, besides
Han (`is_han`). Letters of other scripts, digits, symbols and emoji are refused."""

NAME_SEPARATOR = "\u00b7"
"""The one middle dot between the parts of a transcribed name (阿依古丽·买买提)."""

_NAME_FOLDS = str.maketrans(
    {
        **dict.fromkeys(map(ord, "\u30fb\uff65\u2027\u2022\u2219\u22c5\u0387"), NAME_SEPARATOR),
        **dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2212\ufe63"), "-"),
        **dict.fromkeys(map(ord, "\u2018\u2019\u02bc\uff07"), "'"),
    }
)
NAME_PUNCTUATION = frozenset(f" {NAME_SEPARATOR}-'.")
"""What a name holds besides letters (after folding): space, the separator ``·``, hyphen,
apostrophe and full stop (``John F. Kennedy``)."""


def is_han(ch: str) -> bool:
    """A Han ideograph (汉字) of any block, extensions and compatibility ideographs included
    (the rare characters of names, 生僻字, live in the extensions); unassigned code points
    inside the blocks are not."""
    cp = ord(ch)
    if any(low <= cp <= high for low, high in _HAN_NEWER):
        return True
    return unicodedata.name(ch, "").startswith(
        ("CJK UNIFIED IDEOGRAPH-", "CJK COMPATIBILITY IDEOGRAPH-")
    )


def _is_name_letter(ch: str) -> bool:
    if is_han(ch):
        return True
    category = unicodedata.category(ch)
    if not (category.startswith("L") or ch == "\u3007"):
        return False
    return unicodedata.name(ch, "").startswith(NAME_SCRIPTS)


def _fold_narrow_and_wide(text: str) -> str:
    """Full-width Latin (``Ｚｈａｎｇ``) and half-width kana (``ｻﾄｳ``) to their usual forms."""
    return "".join(
        unicodedata.normalize("NFKC", ch)
        if unicodedata.decomposition(ch).startswith(("<wide>", "<narrow>"))
        else ch
        for ch in text
    )


def _drop_spaces_between_han(name: str) -> str:
    """``王 小明`` → ``王小明``: a space between two Han characters is not on a Chinese ID card."""
    out: list[str] = []
    for index, ch in enumerate(name):
        if (
            ch == " "
            and 0 < index < len(name) - 1
            and is_han(name[index - 1])
            and is_han(name[index + 1])
        ):
            continue
        out.append(ch)
    return "".join(out)


def normalise_name(value: str) -> str:
    """The one written form of a name, without judging it (see `person_name`).

    Full-width and half-width forms folded; NFC; the separators ``・ ･ ‧ • ·``
    folded to ``·`` (U+00B7) and spaces around it dropped; hyphen variants
    (U+2010–2013, minus) to ``-``; apostrophes ``’ ‘ ʼ`` to ``'``; every kind of
    space (ideographic U+3000, no-break…) to one space, runs collapsed, ends
    stripped; a space between two Han characters removed.
    """
    text = unicodedata.normalize("NFC", _fold_narrow_and_wide(value)).translate(_NAME_FOLDS)
    text = " ".join(text.split())
    text = text.replace(f" {NAME_SEPARATOR}", NAME_SEPARATOR)
    text = text.replace(f"{NAME_SEPARATOR} ", NAME_SEPARATOR)
    return unicodedata.normalize("NFC", _drop_spaces_between_han(text))


def person_name(value: str) -> str:
    """A person's name in any script a school sees; returned in its one normal form.

    Refused, in this order: control and format characters anywhere (tab,
    newline, zero-width, bidi overrides) → ``control_characters``; blank →
    ``required``; a character that is not a letter of `NAME_SCRIPTS` or Han,
    a combining mark after a letter, or `NAME_PUNCTUATION` (digits, symbols,
    emoji, private-use and unassigned code points) → ``name_characters``;
    longer than 50 characters → ``too_long``. At least one letter.
    Normalised by `normalise_name`: normalising twice changes nothing.
    """
    if any(is_control(ch) for ch in value):
        raise Invalid("control_characters")
    name = normalise_name(value)
    if not name:
        raise Invalid("required")
    has_letter = False
    after_letter = False
    for ch in name:
        if _is_name_letter(ch):
            has_letter = after_letter = True
        elif unicodedata.category(ch) in ("Mn", "Mc") and after_letter:
            continue
        elif ch in NAME_PUNCTUATION:
            after_letter = False
        else:
            raise Invalid("name_characters")
    if not has_letter:
        raise Invalid("name_characters")
    if len(name) > NAME_MAX:
        raise Invalid("too_long", {"max": NAME_MAX})
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
