"""HTML validity: the Nu Html Checker (vnu.jar from the ``vnu-jar`` npm package, run with Java) finds
no error in the key pages as the server sends them, in Vietnamese and English. Warnings are allowed.

All pages are checked in one Java run: starting the JVM costs more than checking a page.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from tests.e2e.conftest import VNU_JAR, require
from tests.e2e.key_pages import LANGUAGES, PAGE_NAMES


@pytest.fixture(scope="module")
def vnu_errors(key_pages) -> dict[Path, list[str]]:
    """The checker's errors, by HTML file."""
    java = shutil.which("java")
    require(java is not None, "Java (default-jre-headless)")
    require(VNU_JAR.exists(), f"vnu.jar ({VNU_JAR})")
    files = sorted(str(page.html_file) for page in key_pages.values())
    completed = subprocess.run(  # noqa: S603 (fixed arguments)
        [java, "-Xss4m", "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", *files],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    # The report is on stderr, possibly after a line from the JVM ("Picked up JAVA_TOOL_OPTIONS ...").
    output = completed.stderr if '"messages"' in completed.stderr else completed.stdout
    report, _end = json.JSONDecoder().raw_decode(output[output.index('{"'):])
    known = {Path(name).resolve() for name in files}
    errors: dict[Path, list[str]] = defaultdict(list)
    for message in report.get("messages", []):
        if message.get("type") not in ("error", "non-document-error"):
            continue
        path = Path(message.get("url", "").removeprefix("file:")).resolve()
        assert path in known, f"The checker could not check the pages: {message}"
        extract = (message.get("extract") or "").replace("\n", " ").strip()
        errors[path].append(f"line {message.get('lastLine', '?')}: {message.get('message')}"
                            + (f"  «{extract[:160]}»" if extract else ""))
    return errors


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", PAGE_NAMES)
def test_key_page_is_valid_html(key_pages, vnu_errors, name, lang):
    page = key_pages.get_page(lang, name)
    errors = vnu_errors.get(page.html_file.resolve(), [])
    if errors:
        pytest.fail(f"{len(errors)} HTML error(s) on {name} ({lang}) {page.url}:\n" + "\n".join(errors), pytrace=False)
