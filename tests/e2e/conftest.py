"""End-to-end fixtures: a real gunicorn server on a fresh database, driven by Debian's chromium.

The unit tests talk to the app through Flask's test client; these tests talk to it as a person's
browser does: over HTTP, with cookies, CSRF tokens in the pages, the strict CSP, uploads and downloads.

Browser, server and logins live for the ``tests/e2e`` package: gunicorn stops when the last e2e test
has run, before the unit tests that follow in a full run.

* ``server``: builds a fresh database with ``flask db upgrade`` and ``flask demo load`` in a
  temporary folder (SQLite by default, ``E2E_DATABASE_URL`` to use another one), then starts gunicorn
  (2 workers) on a free port. Messages go to the server log (``MESSAGE_BACKEND=log``), where the
  tests read confirmation links as a user reads them in a text message.
* ``browser``: Debian's chromium (``/usr/bin/chromium`` or ``E2E_CHROMIUM``), launched by
  Playwright with ``executable_path``: Playwright cannot download its own browser here.
* ``open_page``: a new browser context (own cookies) for an anonymous visitor or a logged-in user.
* ``shot``: saves numbered screenshots under ``artifacts/e2e/<test>/``.

The tools come from ``make e2e-deps`` (chromium, Java, ``npm ci``). When one is missing the tests are
skipped with the reason, unless ``E2E_REQUIRED=1`` (set by ``make test`` and ``make e2e``), where a
missing tool is a failure: CI must never pass by skipping them.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.services.demo import DEMO_PASSWORD, USERS
from config import normalise_database_url

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

#: The demo accounts by key ("lan", "reviewer", ...): their logins; every one has DEMO_PASSWORD.
DEMO_LOGINS = {user.key: user.login for user in USERS}
MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
#: Seconds a Playwright action or assertion waits before failing (a PDF render can take a few seconds).
TIMEOUT_MS = 30_000


def require(ok: bool, what: str, how: str = "`make e2e-deps` installs chromium, Java and the npm packages") -> None:
    """Skip (or, with E2E_REQUIRED=1, fail) when a tool the e2e tests need is missing."""
    if ok:
        return
    message = f"{what} is missing: {how}."
    if os.environ.get("E2E_REQUIRED") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _clean_state():
    """Replaces the unit tests' autouse fixture: these tests never touch the unit-test database.

    The e2e server has its own database, built once per session; tests do not share objects (each
    creates or picks its own organisation), so nothing needs emptying between them.
    """
    yield


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the item, so fixtures can save a screenshot after a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"e2e_report_{report.when}", report)


# The server ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """The running portal: its address, its log, and read-only access to its database."""

    base_url: str
    log_path: Path
    database_url: str
    process: subprocess.Popen
    _engine: object = field(default=None, repr=False)

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def message_link(self, recipient: str, path: str, *, after: int = 0, timeout: float = 10.0) -> str:
        """The newest link to ``path`` in a message to ``recipient`` that the server logged.

        ``after`` is a log offset (``len(server.log())`` before the action) so an older message
        to the same person is not taken for the new one.
        """
        pattern = re.compile(re.escape(self.base_url + path) + r"[^\s<>\"']+")
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()[after:]
            start = text.rfind(f" to {recipient} ")
            if start >= 0:
                found = pattern.search(text, start)
                if found:
                    return found.group(0)
            if time.monotonic() > deadline:
                raise AssertionError(f"No message with a {path} link to {recipient} in the server log:\n"
                                     + text[-3000:])
            time.sleep(0.2)

    def scalar(self, sql: str, **params):
        """One value from the server's database (to find the id of a demo object to open)."""
        from sqlalchemy import create_engine, text

        if self._engine is None:
            self._engine = create_engine(self.database_url)
        with self._engine.connect() as connection:
            value = connection.execute(text(sql), params).scalar()
        if value is None:
            raise AssertionError(f"Nothing found in the e2e database for: {sql} {params}")
        return value

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _server_environment(folder: Path, database_url: str, base_url: str) -> dict[str, str]:
    """The environment of a development (embedded-mode) server, isolated from the developer's."""
    # Nothing of the developer's own set-up leaks in: database, Redis, instance, upload and cache folders.
    local = ("UPLOAD_DIR", "PDF_CACHE_DIR", "RECOMMENDER_MODEL_DIR", "JOB_QUEUE_NAME", "TRUSTED_PROXIES",
             "SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TEST_", "DATABASE_", "REDIS_", "DXPORTAL_", "FLASK_")) and key not in local}
    env.update({
        "FLASK_APP": "wsgi.py",
        "DXPORTAL_ENV": "development",
        "DXPORTAL_INSTANCE_DIR": str(folder / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BASE_URL": base_url,
        "JOB_QUEUE": "inline",
        "MESSAGE_BACKEND": "log",
        "SMS_BACKEND": "log",
        # Cheap password hashing: the journeys log in a dozen times; the production cost is tested elsewhere.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _reset_database(database_url: str) -> None:
    """An empty PostgreSQL schema when E2E_DATABASE_URL points at one (SQLite starts from a new file)."""
    if not database_url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _wait_until_up(process: subprocess.Popen, url: str, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up:\n" + log_path.read_text(errors="replace")[-4000:])
        # S310 warns of file: and other schemes; this URL is our own server on the loopback.
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            if response.status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError("gunicorn did not answer in time:\n" + log_path.read_text(errors="replace")[-4000:])


def _stop(process: subprocess.Popen) -> None:
    """Stop the gunicorn we started (its own process group: the master and its workers)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    """A fresh portal with the demo data, served by gunicorn on a free loopback port."""
    folder = tmp_path_factory.mktemp("e2e-server")
    url = os.environ.get("E2E_DATABASE_URL")
    database_url = normalise_database_url(url) if url else f"sqlite:///{folder / 'dxportal.sqlite3'}"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = _server_environment(folder, database_url, base_url)
    log_path = folder / "server.log"
    _reset_database(database_url)
    with log_path.open("ab") as log:
        for args in (["db", "upgrade"], ["demo", "load"]):
            subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, stdout=log,  # noqa: S603
                           stderr=subprocess.STDOUT, check=True, timeout=300)
        process = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--timeout", "120",
             "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    running = Server(base_url=base_url, log_path=log_path, database_url=database_url, process=process)
    try:
        _wait_until_up(process, base_url + "/healthz", log_path)
        yield running
    finally:
        _stop(process)
        running.dispose()
        # Keep the server log with the artifacts: it is the first thing to read when a journey fails.
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copyfile(log_path, ARTIFACTS / "server.log")


# The browser --------------------------------------------------------------------------------------


def chromium_path() -> str:
    return os.environ.get("E2E_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="package")
def playwright_driver():
    """Playwright's driver (sync API); named so as not to clash with the pytest-playwright plugin's fixture."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "The Python package playwright", "`make install-dev` installs it (requirements-dev.txt)")
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="package")
def browser(playwright_driver):
    """Debian's chromium, headless; Playwright's own browser download is not available here."""
    path = chromium_path()
    require(Path(path).exists(), f"Debian's chromium ({path})")
    instance = playwright_driver.chromium.launch(executable_path=path, args=["--disable-dev-shm-usage"])
    yield instance
    instance.close()


class Logins:
    """Logs each user in once, through the real form, and hands out the cookies to new contexts.

    One login per user per session keeps the run fast and well under the login rate limits.
    """

    def __init__(self, browser, server: Server, folder: Path):
        self._browser, self._server, self._folder = browser, server, folder
        self._states: dict[str, str] = {}

    def state(self, login: str, password: str = DEMO_PASSWORD) -> str:
        if login not in self._states:
            context = self._browser.new_context(base_url=self._server.base_url)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            log_in(page, login, password)
            path = self._folder / f"{len(self._states)}.json"
            context.storage_state(path=str(path))
            context.close()
            self._states[login] = str(path)
        return self._states[login]


def log_in(page, login: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the login page and check that it worked."""
    from playwright.sync_api import expect

    page.goto("/auth/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.locator("main form[action='/auth/login'] button[type=submit]").click()
    expect(page.locator("form[action='/auth/logout']")).to_be_attached()


def set_language(page, code: str) -> None:
    """Switch the interface language with the switch in the page header (saved on the account)."""
    from playwright.sync_api import expect

    if page.locator("html").get_attribute("lang") == code:
        return
    page.locator(f".language-switch button[lang='{code}']").click()
    expect(page.locator("html")).to_have_attribute("lang", code)
    page.wait_for_load_state()


@pytest.fixture(scope="package")
def logins(browser, server, tmp_path_factory):
    return Logins(browser, server, tmp_path_factory.mktemp("e2e-logins"))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "step"


class Shots:
    """Numbered full-page screenshots of the steps of one test: ``artifacts/e2e/<test>/<nn>-<step>.png``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{_slug(step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shot(request) -> Shots:
    return Shots(ARTIFACTS / _slug(request.node.name))


@dataclass
class BrowserProblems:
    """What the browser complained about: CSP refusals and uncaught script errors."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        def on_console(message):
            if message.type == "error" and "Content Security Policy" in message.text:
                self.messages.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.messages.append(f"{page.url}: script error: {error}"))


def new_page(browser, server: Server, logins: Logins, login: str | None = None, *,
             password: str = DEMO_PASSWORD, mobile: bool = False):
    """A page in a new browser context (its own cookies), anonymous or logged in as ``login``."""
    context = browser.new_context(
        base_url=server.base_url,
        viewport=MOBILE if mobile else DESKTOP,
        storage_state=logins.state(login, password) if login else None,
        accept_downloads=True,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def open_page(browser, server, logins, shot, request):
    """Open a page in a new browser context, as an anonymous visitor or logged in as ``login``.

    ``lang`` ("vi" or "en") is switched to when the page is opened, since the language is saved on the
    account and another test may have changed it. After a failure every open page is saved as a
    screenshot next to the test's steps. A CSP refusal or a script error in any page fails the test.
    """
    pages = []
    problems = BrowserProblems()

    def _open(login: str | None = None, *, password: str = DEMO_PASSWORD, mobile: bool = False,
              lang: str | None = "vi", path: str = "/"):
        page = new_page(browser, server, logins, login, password=password, mobile=mobile)
        problems.watch(page)
        pages.append(page)
        page.goto(path)
        if lang:
            set_language(page, lang)
        return page

    yield _open
    failed = any(getattr(getattr(request.node, f"e2e_report_{when}", None), "failed", False)
                 for when in ("setup", "call"))
    for index, page in enumerate(pages):
        if failed:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(shot.folder / f"failure-{index}.png"), full_page=True)
        page.context.close()
    if problems.messages and not failed:
        pytest.fail("The browser reported problems:\n" + "\n".join(problems.messages), pytrace=False)


@pytest.fixture(scope="package")
def key_pages(browser, server, logins):
    """The key pages in Vietnamese and English, each checked with axe-core and saved as served.

    One crawl for the accessibility and the HTML-validity tests (see ``key_pages.py``).
    """
    from tests.e2e.key_pages import crawl

    require(AXE_JS.exists(), f"axe-core ({AXE_JS.relative_to(ROOT)})")
    return crawl(lambda login=None, mobile=False: new_page(browser, server, logins, login, mobile=mobile),
                 server, ARTIFACTS / "key-pages")
