"""Administrative units of the province: the data file, Vietnamese sorting, lookups, start-up check."""

import json

import pytest

from app import create_app
from app.services import geo, sectors
from app.services.geo import AdminUnitsError, load_province, vietnamese_sort_key
from config import TestConfig


def test_quang_ngai_has_the_96_units_of_2025(app):
    province = geo.province()
    assert province.code == "51"
    assert province.name == "Quảng Ngãi"
    kinds = [unit.kind for unit in province.units]
    assert (len(kinds), kinds.count("xã"), kinds.count("phường"), kinds.count("đặc khu")) == (96, 86, 9, 1)
    assert geo.commune_name("21548") == "Đặc khu Lý Sơn"
    assert geo.commune_name("23293") == "Phường Kon Tum"  # former Kon Tum is part of Quảng Ngãi since 2025


def test_codes_are_official_five_digit_codes_and_unique(app):
    codes = [unit.code for unit in geo.communes()]
    assert all(len(code) == 5 and code.isdigit() for code in codes)
    assert len(set(codes)) == len(codes)


def test_lookup_and_validation(app):
    assert geo.commune_name("21211") == "Xã Tịnh Khê"
    assert geo.is_valid("21211")
    assert not geo.is_valid("99999")
    assert not geo.is_valid("")
    assert not geo.is_valid(None)
    assert geo.commune_name("99999") is None


def test_communes_are_sorted_the_vietnamese_way(app):
    names = [unit.name for unit in geo.communes()]
    assert names == sorted(names, key=vietnamese_sort_key)
    # Đ comes right after D, not after Y as in a code-point sort.
    assert names.index("Dục Nông") < names.index("Đăk Hà") < names.index("Ia Chim")
    assert names[-1] == "Ya Ly"


@pytest.mark.parametrize("earlier, later", [
    ("Ba Tô", "Ba Tơ"),  # ô before ơ
    ("Ba Tơ", "Ba Vì"),
    ("Sơn Hà", "Sơn Hạ"),  # tone only breaks the tie: none/huyền before nặng
    ("Sơn Tây", "Sơn Tây Hạ"),
    ("Tu Mơ Rông", "Tư Nghĩa"),  # u before ư
    ("Mỏ Cày", "Mộ Đức"),  # o before ô, whatever the tone
    ("Dục Nông", "Đăk Hà"),
    ("An Phú", "Ân Hảo"),  # a before â
    ("Đăk Hà", "Ea Ly"),
])
def test_sort_key_orders_pairs(earlier, later):
    assert vietnamese_sort_key(earlier) < vietnamese_sort_key(later)


def test_sort_key_ignores_how_the_letters_were_composed():
    import unicodedata

    name = "Đặng Thùy Trâm"
    decomposed = unicodedata.normalize("NFD", name)
    assert vietnamese_sort_key(decomposed)[:2] == vietnamese_sort_key(name)[:2]


def test_choices_put_the_name_first(app):
    with app.test_request_context():
        choices = dict(geo.choices())
    assert choices["21211"].startswith("Tịnh Khê (")


def test_missing_province_file_stops_the_app_at_start_with_a_clear_message():
    class NoSuchProvince(TestConfig):
        PROVINCE_CODE = "99"

    with pytest.raises(AdminUnitsError, match="PROVINCE_CODE=99"):
        create_app(NoSuchProvince)


def test_province_code_cannot_point_outside_the_data_folder():
    with pytest.raises(AdminUnitsError, match="two digits"):
        load_province("../51")


def test_malformed_file_is_refused(tmp_path):
    (tmp_path / "77.json").write_text(json.dumps({"province_code": "77", "units": [
        {"code": "1", "name": "X", "kind": "xã"}]}), encoding="utf-8")
    with pytest.raises(AdminUnitsError, match="malformed"):
        load_province("77", tmp_path)


def test_a_well_formed_file_for_another_province_loads(tmp_path):
    (tmp_path / "77.json").write_text(json.dumps({"province_code": "77", "province_name": "Thử", "units": [
        {"code": "00002", "name": "Bình An", "kind": "phường"},
        {"code": "00001", "name": "An Bình", "kind": "xã"}]}), encoding="utf-8")
    province = load_province("77", tmp_path)
    assert [unit.full_name for unit in province.units] == ["Xã An Bình", "Phường Bình An"]


def test_vsic_sections_are_loaded_from_the_data_file(app):
    assert list(sectors.load_sections()) == list("ABCDEFGHIJKLMNOPQRSTU")
    assert sectors.name("A", "vi") == "Nông nghiệp, lâm nghiệp và thủy sản"
    assert sectors.name("U", "vi") == "Hoạt động của các tổ chức và cơ quan quốc tế"
    assert sectors.name("A", "en") == "Agriculture, forestry and fishing"
    assert sectors.name("Z") is None
