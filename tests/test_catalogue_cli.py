"""``flask catalogue import PATH`` and ``flask catalogue export PATH``: what an operator sees and the exit codes."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.extensions import db
from app.models import Partner, Programme
from app.services import catalogue_io
from tests.catalogue_io_helpers import catalogue_state, encoded, events, minimal


def write(tmp_path, document, name="catalogue.json"):
    path = tmp_path / name
    path.write_bytes(document if isinstance(document, bytes) else encoded(document))
    return path


def test_import_prints_the_counts_and_commits(runner, tmp_path):
    result = runner.invoke(args=["catalogue", "import", str(write(tmp_path, minimal()))])
    assert result.exit_code == 0, result.output
    assert "programmes:  1 created, 0 updated, 0 restored, 0 unchanged" in result.stdout
    assert "partners:    1 created, 0 updated, 0 restored, 0 unchanged" in result.stdout
    assert "created programme ND80-SOLUTIONS" in result.stdout
    db.session.expire_all()
    assert db.session.scalar(select(Programme.code)) == "ND80-SOLUTIONS"
    [event] = events("catalogue.import")
    assert event.actor_id is None and event.after["source"] == "catalogue.json"


def test_importing_again_reports_everything_unchanged(runner, tmp_path):
    path = write(tmp_path, minimal())
    runner.invoke(args=["catalogue", "import", str(path)])
    result = runner.invoke(args=["catalogue", "import", str(path)])
    assert result.exit_code == 0
    assert "programmes:  0 created, 0 updated, 0 restored, 1 unchanged" in result.stdout
    assert "partners:    0 created, 0 updated, 0 restored, 1 unchanged" in result.stdout


def test_an_update_lists_the_changed_fields(runner, tmp_path):
    runner.invoke(args=["catalogue", "import", str(write(tmp_path, minimal()))])
    document = minimal()
    document["partners"][0]["status"] = "suspended"
    document["partners"][0]["price_band"] = "high"
    result = runner.invoke(args=["catalogue", "import", str(write(tmp_path, document, "second.json"))])
    assert result.exit_code == 0
    assert "updated partner P-QNG-001 (price_band, status)" in result.stdout


def test_an_invalid_file_prints_every_problem_and_changes_nothing(runner, tmp_path):
    runner.invoke(args=["catalogue", "import", str(write(tmp_path, minimal()))])
    before = catalogue_state()
    document = minimal()
    document["programmes"][0]["caps_vnd"]["small"] = True
    document["programmes"][0]["budgett"] = 1
    document["partners"][0]["categories"] = ["crmx"]
    document["partners"].append(dict(minimal()["partners"][0]))
    result = runner.invoke(args=["catalogue", "import", str(write(tmp_path, document, "broken.json"))])
    assert result.exit_code == 1
    for line in ("programmes[0]: unknown key 'budgett'",
                 "programmes[0].caps_vnd.small: must be a positive integer",
                 "partners[0].categories[0]: unknown category 'crmx'",
                 "partners[1].code: duplicate code 'P-QNG-001' (also at partners[0])"):
        assert line in result.stderr
    assert "4 problem(s) found" in result.stderr and "nothing was imported" in result.stderr
    assert result.stdout == ""
    assert catalogue_state() == before


def test_messages_stay_in_english_whatever_the_default_language(runner, tmp_path):
    document = minimal()
    del document["programmes"][0]["name"]["en"]
    result = runner.invoke(args=["catalogue", "import", str(write(tmp_path, document))])
    assert "programmes[0].name.en: required" in result.stderr


def test_bad_json_gives_line_and_column(runner, tmp_path):
    path = write(tmp_path, b'{"schema": "dxportal.catalogue/1",\n "programmes": [}')
    result = runner.invoke(args=["catalogue", "import", str(path)])
    assert result.exit_code == 1
    assert "The file is not valid JSON: Expecting value at line 2, column 17." in result.stderr
    assert db.session.scalar(select(Programme)) is None


def test_a_file_that_is_not_utf8_is_refused(runner, tmp_path):
    path = write(tmp_path, '{"partners": [{"name": "Công ty"}]}'.encode("utf-16"))
    result = runner.invoke(args=["catalogue", "import", str(path)])
    assert result.exit_code == 1 and "not UTF-8 text" in result.stderr


def test_a_missing_file_is_an_error(runner, tmp_path):
    result = runner.invoke(args=["catalogue", "import", str(tmp_path / "nope.json")])
    assert result.exit_code == 1 and "Cannot read" in result.stderr


def test_import_reads_standard_input(runner):
    result = runner.invoke(args=["catalogue", "import", "-"], input=encoded(minimal()))
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Partner.code)) == "P-QNG-001"


def test_export_writes_the_file(runner, tmp_path):
    runner.invoke(args=["catalogue", "import", str(write(tmp_path, minimal()))])
    target = tmp_path / "out" / "export.json"
    target.parent.mkdir()
    result = runner.invoke(args=["catalogue", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert "Exported 1 programmes and 1 partners" in result.stdout
    assert target.read_text(encoding="utf-8") == catalogue_io.export_text()
    assert json.loads(target.read_bytes()) == minimal()
    assert [p.name for p in target.parent.iterdir()] == ["export.json"]


def test_export_to_stdout(runner, tmp_path):
    runner.invoke(args=["catalogue", "import", str(write(tmp_path, minimal()))])
    result = runner.invoke(args=["catalogue", "export", "-"])
    assert result.exit_code == 0
    assert result.stdout_bytes.decode("utf-8") == catalogue_io.export_text()


def test_export_into_a_missing_directory_fails_cleanly(runner, tmp_path):
    result = runner.invoke(args=["catalogue", "export", str(tmp_path / "missing" / "out.json")])
    assert result.exit_code == 1 and "Cannot write" in result.stderr


def test_cli_round_trip_of_the_demo_file(runner, tmp_path):
    assert runner.invoke(args=["catalogue", "import", str(catalogue_io.DEMO_PATH)]).exit_code == 0
    target = tmp_path / "export.json"
    assert runner.invoke(args=["catalogue", "export", str(target)]).exit_code == 0
    assert target.read_bytes() == catalogue_io.DEMO_PATH.read_bytes()
    again = runner.invoke(args=["catalogue", "import", str(target)])
    assert "0 created, 0 updated, 0 restored" in again.stdout
