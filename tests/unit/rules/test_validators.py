"""The pure value rules of `dossier.core.rules.validators`.

Check characters are recomputed here independently of the implementation:
the PRC check uses the weight and result tables printed in GB 11643-1999,
the HKID check spells out the padded eight positions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dossier.core.rules import validators as v
from dossier.core.rules.validators import Invalid

TODAY = date(2026, 11, 28)


def rule_of(call: Callable[[], object]) -> str:
    """The rule code ``call`` raises `Invalid` with (fails the test when it does not raise)."""
    with pytest.raises(Invalid) as caught:
        call()
    return caught.value.rule


# -- PRC resident ID ---------------------------------------------------------------------

GB_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
GB_CHECKS = "10X98765432"


def gb_check(first17: str) -> str:
    return GB_CHECKS[sum(int(d) * w for d, w in zip(first17, GB_WEIGHTS, strict=True)) % 11]


def make_prc_id(region: int, born: date, sequence: int) -> str:
    first17 = f"{region:06d}{born:%Y%m%d}{sequence:03d}"
    return first17 + gb_check(first17)


PROVINCES = sorted(v.PRC_PROVINCE_CODES)

prc_ids = st.builds(
    make_prc_id,
    st.builds(lambda p, rest: p * 10000 + rest, st.sampled_from(PROVINCES), st.integers(0, 9999)),
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.integers(0, 999),
)


def test_published_prc_id_is_valid_and_carries_its_birth_date() -> None:
    assert v.prc_resident_id("11010519491231002X", TODAY) == "11010519491231002X"
    assert v.prc_id_birth_date("11010519491231002X") == date(1949, 12, 31)


def test_prc_id_is_normalised_from_lowercase_x_spaces_and_full_width_digits() -> None:
    assert v.prc_resident_id(" 110105 19491231 002x ", TODAY) == "11010519491231002X"
    assert v.prc_resident_id("１１０１０５１９４９１２３１００２Ｘ", TODAY) == "11010519491231002X"


def test_check_character_matches_the_gb_table() -> None:
    assert v.prc_id_check_character("11010519491231002") == "X"
    assert v.prc_id_check_character("44030419900307201") == "3"
    with pytest.raises(ValueError, match="17"):
        v.prc_id_check_character("1101051949123100")


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        ("", "required"),
        (" ", "required"),
        ("1101051949123100X", "id_number_format"),  # 17 characters
        ("11010519491231002X1", "id_number_format"),  # 19 characters
        ("01010519491231002X", "id_number_format"),  # first digit 0
        ("1101051949123X0021", "id_number_format"),  # X not at the end
        ("11010519491231002Y", "id_number_format"),
        ("11010519491231002-", "id_number_format"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "id_number_format"),  # Arabic-Indic digits
        ("110105194912310021", "id_number_checksum"),
        ("999999199001010016", "id_number_region"),
        (make_prc_id(470000, date(1990, 1, 1), 1), "id_number_region"),  # province 47
        (make_prc_id(160000, date(1990, 1, 1), 1), "id_number_region"),
        (make_prc_id(110105, date(1949, 12, 31), 2)[:-1] + "0", "id_number_checksum"),
    ],
)
def test_malformed_prc_ids_are_refused_by_rule(number: str, rule: str) -> None:
    assert rule_of(lambda: v.prc_resident_id(number, TODAY)) == rule


@pytest.mark.parametrize(
    "first17",
    [
        "11010519990230002",  # 30 February
        "11010520231301002",  # month 13
        "11010518991231002",  # before 1900
        "11010520261129002",  # tomorrow
    ],
)
def test_prc_id_birth_date_must_be_real_from_1900_and_not_future(first17: str) -> None:
    number = first17 + gb_check(first17)
    error = rule_of(lambda: v.prc_resident_id(number, TODAY))
    assert error == "id_number_birth_date"


@pytest.mark.parametrize("province", [71, 81, 82, 83])
def test_residence_permits_of_hong_kong_macao_and_taiwan_residents_are_accepted(
    province: int,
) -> None:
    number = make_prc_id(province * 10000, date(1990, 1, 1), 1)
    assert v.prc_resident_id(number, TODAY) == number


def test_prc_id_may_be_born_today() -> None:
    number = make_prc_id(310115, TODAY, 123)
    assert v.prc_resident_id(number, TODAY) == number


def test_prc_id_errors_name_the_document_not_the_number() -> None:
    with pytest.raises(Invalid) as caught:
        v.prc_resident_id("110105194912310021", TODAY)
    assert caught.value.params == {"document": "prc_resident_id"}


@given(prc_ids)
def test_generated_prc_ids_are_accepted_and_normalisation_is_idempotent(number: str) -> None:
    once = v.prc_resident_id(number.lower(), TODAY)
    assert once == number
    assert v.prc_resident_id(once, TODAY) == once
    assert v.prc_id_birth_date(once).strftime("%Y%m%d") == number[6:14]


@settings(max_examples=40)
@given(prc_ids)
def test_every_single_character_substitution_of_a_prc_id_is_refused(number: str) -> None:
    for position, original in enumerate(number):
        for replacement in "0123456789X":
            if replacement == original:
                continue
            corrupted = number[:position] + replacement + number[position + 1 :]
            with pytest.raises(Invalid):
                v.prc_resident_id(corrupted, TODAY)


# -- passports and permits ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("E12345678", "E12345678"),
        ("g 1234 5678", "G12345678"),
        ("x1234", "X1234"),
        ("ＡＢ１２３４５６", "AB123456"),
        ("A" * 20, "A" * 20),
    ],
)
def test_passport_numbers_are_normalised(raw: str, expected: str) -> None:
    assert v.passport_number(raw) == expected


@pytest.mark.parametrize(
    "raw", ["E123", "A" * 21, "E1234567!", "E-12345678", "Е12345678", "E1234567\u200b"]
)
def test_bad_passport_numbers_are_refused(raw: str) -> None:
    assert rule_of(lambda: v.passport_number(" ")) == "required"
    assert rule_of(lambda: v.passport_number(raw)) == "id_number_format"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C12345678", "C12345678"),
        ("ca1234567", "CA1234567"),
        ("C 1234 5678", "C12345678"),
        ("W12345678", "W12345678"),  # the older booklet
        ("w 1234 5678", "W12345678"),
    ],
)
def test_hk_macao_permits_are_normalised(raw: str, expected: str) -> None:
    assert v.hk_macao_permit(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["D12345678", "C1234567", "C123456789", "CAB123456", "C1234567A", "W1234567", "WA1234567"],
)
def test_bad_hk_macao_permits_are_refused(raw: str) -> None:
    with pytest.raises(Invalid) as caught:
        v.hk_macao_permit(raw)
    assert caught.value.rule == "id_number_format"
    assert caught.value.params == {"document": "hk_macao_permit"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("H12345678", "H12345678"),
        ("m1234 5678", "M12345678"),
        ("H12345678 01", "H1234567801"),  # with the times issued
        ("H12345678(01)", "H1234567801"),
    ],
)
def test_home_return_permits_are_normalised(raw: str, expected: str) -> None:
    assert v.home_return_permit(raw) == expected


@pytest.mark.parametrize("raw", ["C12345678", "H1234567", "H123456789", "HK1234567", "12345678"])
def test_bad_home_return_permits_are_refused(raw: str) -> None:
    with pytest.raises(Invalid) as caught:
        v.home_return_permit(raw)
    assert caught.value.params == {"document": "home_return_permit"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12345678", "12345678"),  # the card since 2015
        ("1234 5678", "12345678"),
        ("1234567890", "1234567890"),  # older booklet
        ("12345678(B)", "12345678B"),
    ],
)
def test_taiwan_permits_are_normalised(raw: str, expected: str) -> None:
    assert v.taiwan_permit(raw) == expected


@pytest.mark.parametrize("raw", ["1234567", "123456789", "A1234567", "12345678BC", "H12345678"])
def test_bad_taiwan_permits_are_refused(raw: str) -> None:
    assert rule_of(lambda: v.taiwan_permit(raw)) == "id_number_format"


def test_blank_permits_are_required() -> None:
    for rule in (v.hk_macao_permit, v.home_return_permit, v.taiwan_permit, v.hkid):
        assert rule_of(lambda rule=rule: rule("")) == "required"


# -- phones (libphonenumber) ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "0086 13800138000",
        "86-13800138000",
        "＋８６ １３８ ００１３ ８０００",
        "（+86）13800138000",
        "(+86) 138 0013 8000",
    ],
)
def test_the_written_forms_of_a_mainland_mobile_normalise_to_e164(raw: str) -> None:
    assert v.phone(raw, "CN") == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+82 10-1234-5678", "CN", "+821012345678"),
        ("+853 6612 3456", "CN", "+85366123456"),
        ("+886 912 345 678", "CN", "+886912345678"),
        ("+852 9123 4567", "CN", "+85291234567"),
        ("00852 9123 4567", "HK", "+85291234567"),
        ("9123 4567", "HK", "+85291234567"),
        ("+7 912 345-67-89", "CN", "+79123456789"),
    ],
)
def test_numbers_of_any_country_are_accepted(raw: str, region: str, e164: str) -> None:
    assert v.phone(raw, region) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "12800138000",
        "10800138000",
        "+86 140 0013 8000",  # a block libphonenumber knows is not allocated
        "+86 154 0013 8000",
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "+13800138000",  # a plus without the country code
        "1380013800O",  # letter O
        "138 0013 8000 ext 1",
        "①３８００１３８０００",
        "9123 4567",  # a Hong Kong number without +852 on a mainland branch
    ],
)
def test_invalid_numbers_are_refused_with_the_branchs_example(raw: str) -> None:
    with pytest.raises(Invalid) as caught:
        v.phone(raw, "CN")
    assert caught.value.rule == "phone_format"
    assert caught.value.params == {"expected": "+86 131 2345 6789"}


def test_a_blank_phone_is_required_not_malformed() -> None:
    assert rule_of(lambda: v.phone("  ", "CN")) == "required"


@pytest.mark.parametrize("raw", ["010-12345678", "021 6123 4567", "+852 2123 4567"])
def test_a_landline_is_a_guardians_number_but_not_a_students(raw: str) -> None:
    assert rule_of(lambda: v.phone(raw, "CN")) == "phone_not_mobile"
    assert v.phone_type(v.phone(raw, "CN", mobile=False)) == "landline"


def test_the_example_is_the_regions_own() -> None:
    assert v.phone_example("CN") == "+86 131 2345 6789"
    assert v.phone_example("HK") == "+852 5123 4567"


mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(mobiles)
def test_a_mainland_number_is_accepted_exactly_when_libphonenumber_calls_it_a_mobile(
    national: str,
) -> None:
    number = phonenumbers.parse(national, "CN")
    mobile = phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if mobile:
        assert v.phone(national, "CN") == "+86" + national
    else:
        assert rule_of(lambda: v.phone(national, "CN")) in {"phone_format", "phone_not_mobile"}


@given(st.text(alphabet="0123456789 +-()abcxX.", max_size=24))
def test_anything_accepted_is_the_e164_form_of_digits_found_in_the_input(raw: str) -> None:
    try:
        result = v.phone(raw, "CN")
    except Invalid:
        return
    assert result.startswith("+")
    assert result[1:].isdigit()
    digits = "".join(ch for ch in raw if ch.isdigit())
    assert digits.endswith(result[-7:])
    assert not set(raw) & set("abcxX")


@given(
    st.sampled_from(["13800138000", "+85291234567"]),
    st.integers(0, 10),
    st.sampled_from("abcOlI,#*"),
)
def test_a_number_with_a_letter_or_symbol_inserted_is_refused(
    number: str, position: int, extra: str
) -> None:
    raw = number[:position] + extra + number[position:]
    assert rule_of(lambda: v.phone(raw, "CN")) == "phone_format"


# -- Hong Kong ---------------------------------------------------------------------------

HK_VALUES = {" ": 36, **{letter: 10 + i for i, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}}


def hk_check(prefix: str, digits: str) -> str:
    padded = prefix.rjust(2) + digits
    total = sum(
        (HK_VALUES[ch] if ch in HK_VALUES else int(ch)) * weight
        for ch, weight in zip(padded, range(9, 1, -1), strict=True)
    )
    remainder = (11 - total % 11) % 11
    return "A" if remainder == 10 else str(remainder)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A123456(3)", "A1234563"),  # the published example
        ("A1234563", "A1234563"),
        ("a123456(3)", "A1234563"),
        ("A 123456 (3)", "A1234563"),
        ("G123456(A)", "G123456A"),
        ("g123456a", "G123456A"),
        ("AB987654(3)", "AB9876543"),
        ("K000000(0)", "K0000000"),
        ("Ａ１２３４５６（３）", "A1234563"),
    ],
)
def test_hkids_are_validated_and_normalised_without_parentheses(raw: str, expected: str) -> None:
    assert v.hkid(raw) == expected


def test_hkid_check_digit_matches_the_published_example() -> None:
    assert v.hkid_check_digit("A", "123456") == "3"
    assert v.hkid_check_digit("G", "123456") == "A"


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("A123456(4)", "hkid_checksum"),
        ("G123456(0)", "hkid_checksum"),
        ("A123456(3", "hkid_format"),
        ("A123456)3(", "hkid_format"),
        ("A12345(3)", "hkid_format"),
        ("ABC123456(3)", "hkid_format"),
        ("1123456(3)", "hkid_format"),
        ("A123456(B)", "hkid_format"),
        ("", "required"),
    ],
)
def test_bad_hkids_are_refused(raw: str, rule: str) -> None:
    assert rule_of(lambda: v.hkid(raw)) == rule


prefixes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=2)
six_digits = st.from_regex(r"[0-9]{6}", fullmatch=True)


@given(prefixes, six_digits, st.booleans())
def test_generated_hkids_are_accepted_in_both_written_forms(
    prefix: str, digits: str, parentheses: bool
) -> None:
    check = hk_check(prefix, digits)
    written = f"{prefix}{digits}({check})" if parentheses else f"{prefix}{digits}{check}"
    normalised = v.hkid(written)
    assert normalised == f"{prefix}{digits}{check}"
    assert v.hkid(normalised) == normalised


@given(prefixes, six_digits)
def test_every_digit_or_check_substitution_of_an_hkid_is_refused(prefix: str, digits: str) -> None:
    valid = f"{prefix}{digits}{hk_check(prefix, digits)}"
    for position in range(len(prefix), len(valid)):
        for replacement in "0123456789A":
            if replacement == valid[position]:
                continue
            corrupted = valid[:position] + replacement + valid[position + 1 :]
            with pytest.raises(Invalid):
                v.hkid(corrupted)


# -- e-mail ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("john.doe@example.com", "john.doe@example.com"),
        ("  John.Doe@Example.COM ", "John.Doe@example.com"),
        ("user+tag@mail.example.cn", "user+tag@mail.example.cn"),
        ("o'neil@example.org", "o'neil@example.org"),
        ("a@例子.中国", "a@例子.中国"),
        ("a@EXAMPLE。com", "a@example.com"),
        ("a@ＥＸＡＭＰＬＥ.com", "a@example.com"),  # full-width domain folded (UTS #46)
        ("a@Bücher.DE", "a@bücher.de"),
        ("x@a-b.co", "x@a-b.co"),
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
    ],
)
def test_valid_email_addresses_are_normalised(raw: str, expected: str) -> None:
    assert v.email_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "no-at-sign",
        "a@☃.net",  # a symbol: allowed by IDNA 2003, refused by IDNA 2008
        "@example.com",
        "a@@example.com",
        "a@b@example.com",
        "a@example",
        "a@-example.com",
        "a@example-.com",
        "a@exa_mple.com",
        "a@example..com",
        "a@example.com.",
        "a@example.123",
        ".a@example.com",
        "a.@example.com",
        "a..b@example.com",
        "a b@example.com",
        '"quoted"@example.com',
        "张三@example.com",
        "a@exa mple.com",
        "a@example.com\u202e",
        "a" * 65 + "@example.com",
        "a@" + ".".join(["b" * 63] * 4) + ".com",  # over 254 characters
        "a@" + "b" * 64 + ".com",  # a label over 63 characters
    ],
)
def test_invalid_email_addresses_are_refused(raw: str) -> None:
    assert rule_of(lambda: v.email_address(raw)) == "email_format"


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张伟", "张伟"),
        ("  欧阳  娜娜 ", "欧阳娜娜"),  # no space between Han characters
        ("王\u3000小明", "王小明"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("阿依古丽･买买提", "阿依古丽·买买提"),
        ("阿依古丽‧买买提", "阿依古丽·买买提"),
        ("阿依古丽 · 买买提", "阿依古丽·买买提"),
        ("Zoë Müller", "Zoë Müller"),
        ("José  García\u3000López", "José García López"),
        ("Jose\u0301", "José"),  # NFC
        ("Mary-Jane O'Neil", "Mary-Jane O'Neil"),
        ("D’Arcy", "D'Arcy"),
        ("John F. Kennedy", "John F. Kennedy"),
        ("Jean\u2010Luc", "Jean-Luc"),
        ("Ｚｈａｎｇ Ｗｅｉ", "Zhang Wei"),
        ("김민준", "김민준"),
        ("佐藤さくら", "佐藤さくら"),
        ("佐々木", "佐々木"),
        ("ｻﾄｳ", "サトウ"),
        ("Иван Петров", "Иван Петров"),
        ("สมชาย ใจดี", "สมชาย ใจดี"),
        ("محمد علي", "محمد علي"),
        ("李\u3400", "李\u3400"),  # Extension A
        ("\uf900", "\u8c48"),  # a compatibility ideograph: NFC gives the unified one
        ("王𠀀", "王𠀀"),  # Extension B
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("李" * 50, "李" * 50),
    ],
)
def test_valid_names_are_stripped_and_collapsed(raw: str, expected: str) -> None:
    assert v.person_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", "required"),
        ("   ", "required"),
        ("李" * 51, "too_long"),
        ("张3", "name_characters"),
        ("张三!", "name_characters"),
        ("John_Smith", "name_characters"),
        ("张伟😀", "name_characters"),  # emoji
        ("张\ue000", "name_characters"),  # private use
        ("张\u0378", "name_characters"),  # unassigned
        ("ⓐⓑ", "name_characters"),  # circled letters are symbols
        ("A\u2603", "name_characters"),
        ("·", "name_characters"),
        ("- '", "name_characters"),
        ("\u0301a", "name_characters"),  # a combining mark must follow a letter
        ("张\u200b伟", "control_characters"),
        ("张伟\n", "control_characters"),
        ("\u202eJohn", "control_characters"),
    ],
)
def test_bad_names_are_refused_by_rule(raw: str, rule: str) -> None:
    assert rule_of(lambda: v.person_name(raw)) == rule


def test_name_length_errors_give_the_maximum() -> None:
    with pytest.raises(Invalid) as caught:
        v.person_name("A" * 51)
    assert caught.value.params == {"max": 50}


BIDI_AND_INVISIBLE = [chr(cp) for cp in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))] + [
    "\u200b",
    "\u200e",
    "\ufeff",
    "\x00",
    "\t",
    "\x7f",
]


@given(
    st.sampled_from(["张伟", "阿依古丽·买买提", "Zoë Müller", "Mary-Jane O'Neil", "李"]),
    st.one_of(st.sampled_from(BIDI_AND_INVISIBLE), st.characters(categories=["Cc", "Cf"])),
    st.data(),
)
def test_control_or_bidi_characters_anywhere_in_a_name_are_refused(
    name: str, control: str, data: st.DataObject
) -> None:
    position = data.draw(st.integers(0, len(name)))
    tainted = name[:position] + control + name[position:]
    assert rule_of(lambda: v.person_name(tainted)) == "control_characters"


# -- dates -------------------------------------------------------------------------------


def test_age_counts_whole_years() -> None:
    assert v.age_on(date(2000, 11, 28), TODAY) == 26
    assert v.age_on(date(2000, 11, 29), TODAY) == 25
    assert v.age_on(TODAY, TODAY) == 0


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (date(2026, 2, 28), 17),  # a common year: not yet 18 on 28 February
        (date(2026, 3, 1), 18),
        (date(2028, 2, 28), 19),
        (date(2028, 2, 29), 20),  # a leap year: the birthday itself
    ],
)
def test_age_of_someone_born_on_29_february(on: date, age: int) -> None:
    assert v.age_on(date(2008, 2, 29), on) == age


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(0, 120))
def test_age_on_the_birthday_in_a_later_year_is_the_year_difference(born: date, years: int) -> None:
    assume(not (born.month == 2 and born.day == 29))
    later = born.replace(year=born.year + years)
    assert v.age_on(born, later) == later.year - born.year
    assert v.age_on(born, later - timedelta(days=1)) == later.year - born.year - 1


@pytest.mark.parametrize(
    "born", [date(2024, 11, 28), date(1925, 11, 29), date(1926, 11, 28), date(2000, 1, 1)]
)
def test_plausible_birth_dates_pass(born: date) -> None:
    assert v.birth_date(born, TODAY) == born


def test_birth_date_in_the_future_is_refused() -> None:
    assert rule_of(lambda: v.birth_date(TODAY + timedelta(days=1), TODAY)) == "birth_date_future"


@pytest.mark.parametrize("born", [date(2024, 11, 29), TODAY, date(1925, 11, 28), date(1800, 1, 1)])
def test_implausible_ages_are_refused_with_the_bounds(born: date) -> None:
    with pytest.raises(Invalid) as caught:
        v.birth_date(born, TODAY)
    assert caught.value.rule == "birth_date_implausible"
    assert caught.value.params == {"min": 2, "max": 100}


# -- free text and addresses -------------------------------------------------------------


def test_address_is_stripped_and_limited_to_200() -> None:
    assert v.address("  上海市徐汇区漕溪北路 88 号 ") == "上海市徐汇区漕溪北路 88 号"
    assert v.address("路" * 200) == "路" * 200
    with pytest.raises(Invalid) as caught:
        v.address("路" * 201)
    assert (caught.value.rule, caught.value.params) == ("too_long", {"max": 200})


@pytest.mark.parametrize("raw", ["上海市\n徐汇区", "上海市\t徐汇区", "上海\u202e市", "上海\x00"])
def test_address_refuses_line_breaks_and_control_characters(raw: str) -> None:
    assert rule_of(lambda: v.address(raw)) == "control_characters"


def test_free_text_keeps_newlines_and_tabs_and_unifies_line_breaks() -> None:
    assert v.free_text(" 周末\r\n上午\t班 \n") == "周末\n上午\t班"
    assert v.free_text("a\rb") == "a\nb"
    assert v.free_text("字" * 500) == "字" * 500


@pytest.mark.parametrize("raw", ["IELTS\u202e7", "a\u200bb", "bell\x07", "\x1b[31mred"])
def test_free_text_refuses_other_control_characters(raw: str) -> None:
    assert rule_of(lambda: v.free_text(raw)) == "control_characters"


def test_free_text_is_limited_to_500() -> None:
    with pytest.raises(Invalid) as caught:
        v.free_text("字" * 501)
    assert (caught.value.rule, caught.value.params) == ("too_long", {"max": 500})
