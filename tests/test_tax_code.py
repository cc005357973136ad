"""Tax codes: the MST check digit, branch numbers, and the personal ID of household businesses."""

import pytest

from app.models.organisation import OrganisationKind
from app.services.organisations import TaxCodeError, check_tax_code, mst_check_digit, normalise_tax_code

ENTERPRISE = OrganisationKind.ENTERPRISE
COOPERATIVE = OrganisationKind.COOPERATIVE
HOUSEHOLD = OrganisationKind.HOUSEHOLD_BUSINESS

#: Tax codes of well-known companies, published on their invoices: the check digit must accept them.
REAL_MSTS = ["0100109106", "0300588569", "0101248141"]


def reason(raw, kind=ENTERPRISE):
    with pytest.raises(TaxCodeError) as caught:
        check_tax_code(raw, kind)
    return caught.value.reason


@pytest.mark.parametrize("mst", REAL_MSTS)
def test_published_tax_codes_are_accepted_for_every_kind(mst):
    for kind in OrganisationKind:
        assert check_tax_code(mst, kind) == mst


def test_check_digit_follows_the_weights():
    # 0·31 + 1·29 + 0·23 + 0·19 + 1·17 + 0·13 + 9·7 + 1·5 + 0·3 = 114; 114 mod 11 = 4; 10 − 4 = 6.
    assert mst_check_digit("010010910") == 6
    # 1·31 = 31; 31 mod 11 = 9; 10 − 9 = 1.
    assert mst_check_digit("100000000") == 1


@pytest.mark.parametrize("last", "012345789")
def test_any_other_last_digit_is_refused(last):
    assert reason("010010910" + last) == "check_digit"


def test_a_check_value_of_ten_means_no_valid_code_exists():
    # Nine zeros sum to 0, so the check would be 10: none of the ten possible codes is valid.
    assert mst_check_digit("000000000") is None
    for last in "0123456789":
        assert reason("000000000" + last) == "check_digit"


@pytest.mark.parametrize("raw", ["0100 109 106", " 0100109106 ", "0100\u00a0109\u00a0106", "01001\t09106"])
def test_spaces_are_ignored(raw):
    assert check_tax_code(raw, ENTERPRISE) == "0100109106"


@pytest.mark.parametrize("raw", ["010010910", "01001091066", "1", "01001091"])
def test_wrong_length_is_reported_as_such(raw):
    assert reason(raw) == "length"


def test_wrong_length_message_says_how_many_digits_were_typed(app):
    with app.test_request_context():
        with pytest.raises(TaxCodeError) as caught:
            check_tax_code("010010910", ENTERPRISE)
        assert "9" in str(caught.value.message)


@pytest.mark.parametrize("raw", ["0100l09106", "MST0100109106", "0100109106/001", "٠١٠٠١٠٩١٠٦", "0100.109.106"])
def test_letters_and_foreign_digits_are_refused(raw):
    assert reason(raw) == "characters"


@pytest.mark.parametrize("raw, expected", [
    ("0100109106-001", "0100109106-001"),
    ("0100109106-999", "0100109106-999"),
    ("0100109106 - 012", "0100109106-012"),
    ("0100109106–001", "0100109106-001"),  # an en dash, as word processors write it
    ("0100109106001", "0100109106-001"),  # 13 digits written without the dash
])
def test_branch_numbers_are_accepted_and_normalised(raw, expected):
    assert check_tax_code(raw, ENTERPRISE) == expected


@pytest.mark.parametrize("raw", ["0100109106-000", "0100109106-01", "0100109106-0001", "0100109106-", "0100109106-00a",
                                 "0100109106-001-002"])
def test_bad_branch_suffixes_are_refused(raw):
    assert reason(raw) in {"branch", "characters"}


def test_branch_zero_is_refused_with_its_own_reason():
    assert reason("0100109106-000") == "branch"


def test_branch_of_an_invalid_main_code_is_refused():
    assert reason("0100109107-001") == "check_digit"


def test_enterprises_and_cooperatives_must_give_a_tax_code():
    assert reason("", ENTERPRISE) == "required"
    assert reason("   ", COOPERATIVE) == "required"
    assert reason(None, ENTERPRISE) == "required"


def test_household_business_may_give_none():
    assert check_tax_code("", HOUSEHOLD) is None
    assert check_tax_code("  ", HOUSEHOLD) is None


def test_personal_id_is_accepted_only_for_household_businesses():
    assert check_tax_code("051 190 012 345", HOUSEHOLD) == "051190012345"
    assert reason("051190012345", ENTERPRISE) == "personal_id"
    assert reason("051190012345", COOPERATIVE) == "personal_id"


@pytest.mark.parametrize("raw", ["05119001234", "0511900123456789", "12345"])
def test_household_wrong_length_is_reported(raw):
    assert reason(raw, HOUSEHOLD) == "length"


def test_household_business_with_an_mst_gets_the_check_digit_test():
    assert check_tax_code("0300588569", HOUSEHOLD) == "0300588569"
    assert reason("0300588568", HOUSEHOLD) == "check_digit"


def test_normalise_only_removes_spaces_and_unifies_dashes():
    assert normalise_tax_code(" 0100 109106 \u2013 001 ") == "0100109106-001"
    assert normalise_tax_code(None) == ""
