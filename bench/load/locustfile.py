# ruff: noqa: S311 (random choices of a simulated user, not security)
"""Locust scenario of dxportal: anonymous browsing, businesses doing their self-assessment, reading results and
recommendations and preparing an application, and staff working through the review queue.

Run by ``bench/load/run.py`` (``make load``), which prepares the data and passes, in the environment:
``LOAD_FIXTURE`` (the JSON written by ``bench/load/data.py``: logins, ids), ``LOAD_USERS`` (simulated users)
and ``LOAD_RPS`` (the target rate). Every user sends one request per task at a constant rate
(``constant_throughput``), so ``LOAD_USERS`` users at ``LOAD_RPS / LOAD_USERS`` tasks per second offer
``LOAD_RPS`` requests per second while the server keeps up. A user walks through *journeys*: generators that
send one request and ``yield``, so a journey (open a step, save it, open the next...) spreads over several
tasks at the user's pace, as a person's clicks do.

Business users and staff log in once when they start (argon2 makes a login deliberately slow, and logins
are rate-limited) and keep their session cookie. Posts do not follow redirects: the post and the page it
leads to are measured separately. A response with another status than the journey expects counts as an
error, and the journey stops (a real user would be stuck there too).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from locust import FastHttpUser, constant_throughput, task

FIXTURE = json.loads(Path(os.environ["LOAD_FIXTURE"]).read_text(encoding="utf-8"))
USERS = int(os.environ.get("LOAD_USERS", "50"))
RPS = float(os.environ.get("LOAD_RPS", "50"))
#: Share of the simulated users of each kind (the rest browse anonymously).
BUSINESS_SHARE, STAFF_SHARE = 0.36, 0.14
PER_USER_RATE = RPS / USERS

_businesses = itertools.cycle(FIXTURE["businesses"])
_staff = itertools.cycle(FIXTURE["staff"])


# --- Reading forms out of pages ---------------------------------------------------------------------


class Form:
    """A form of a page: its action and the fields a browser would send as they are (hidden, typed, ticked)."""

    def __init__(self, action: str, enctype: str):
        self.action = action
        self.enctype = enctype
        self.fields: list[tuple[str, str]] = []
        self.choices: dict[str, list[str]] = {}  # radio groups and checkboxes: every value offered
        self.files: list[str] = []

    def value(self, name: str) -> str | None:
        return next((v for n, v in self.fields if n == name), None)

    def names(self) -> set[str]:
        return {n for n, _ in self.fields} | set(self.choices) | set(self.files)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.textarea: str | None = None
        self.text = ""
        self.select: str | None = None
        self.first_option: str | None = None
        self.selected = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.form = Form(a.get("action", ""), a.get("enctype", ""))
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("radio", "checkbox"):
                self.form.choices.setdefault(a["name"], []).append(a.get("value", "on"))
                if "checked" in a:
                    self.form.fields.append((a["name"], a.get("value", "on")))
            elif kind == "file":
                self.form.files.append(a["name"])
            elif kind not in ("submit", "button", "image", "reset"):
                self.form.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self.textarea, self.text = a["name"], ""
        elif tag == "select" and a.get("name"):
            self.select, self.first_option, self.selected = a["name"], None, False
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.first_option is None:
                self.first_option = value
            if "selected" in a:
                self.form.fields.append((self.select, value))
                self.selected = True

    def handle_data(self, data):
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "textarea" and self.textarea is not None and self.form is not None:
            self.form.fields.append((self.textarea, self.text.lstrip("\n")))
            self.textarea = None
        elif tag == "select" and self.select is not None and self.form is not None:
            if not self.selected and self.first_option is not None:
                self.form.fields.append((self.select, self.first_option))
            self.select = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def find_form(html: str, *, action_end: str | None = None, field: str | None = None) -> Form | None:
    """The first form whose action ends with ``action_end`` and/or that has a field named ``field``."""
    for form in forms(html):
        if action_end and not urlsplit(form.action).path.endswith(action_end):
            continue
        if field and field not in form.names():
            continue
        return form
    return None


def multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body (what a browser sends with a file input) and its content type."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode() + b"\r\n")
    for name, filename, content, mimetype in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {mimetype}\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def small_pdf(title: str) -> bytes:
    """A valid one-page PDF of about 600 bytes (a scanned quote stands in). The same as
    ``app.services.demo.one_page_pdf``, written out because Locust runs in its own venv, without the app."""
    stream = f"BT /F1 14 Tf 40 780 Td ({title}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += str(number).encode() + b" 0 obj" + content + b"endobj\n"
    xref = len(body)
    body += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    return body + b"trailer<</Size 6/Root 1 0 R>>\nstartxref\n" + str(xref).encode() + b"\n%%EOF\n"


PDF = small_pdf("Bao gia phan mem ban hang")


def location(response) -> str:
    """The path (and query) a redirect points to."""
    parts = urlsplit(response.headers.get("Location") or response.headers.get("location") or "")
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- Users ------------------------------------------------------------------------------------------


class PortalUser(FastHttpUser):
    """One request per task at a constant rate; the requests come from the current journey."""

    abstract = True
    wait_time = constant_throughput(PER_USER_RATE)
    #: (weight, method name) of the journeys this kind of user picks from.
    journeys: tuple[tuple[int, str], ...] = ()

    def on_start(self):
        self.flow = None

    @task
    def next_request(self):
        for _attempt in range(3):  # a journey may end before sending anything: take the next one
            if self.flow is None:
                weights, names = zip(*self.journeys, strict=True)
                self.flow = getattr(self, random.choices(names, weights)[0])()
            try:
                next(self.flow)
                return
            except StopIteration:
                self.flow = None

    def call(self, method: str, url: str, name: str, expect=(200,), **kwargs):
        """Send one request; any status outside ``expect`` is an error and ends the journey."""
        with self.client.request(method, url, name=name, catch_response=True, allow_redirects=False,
                                 **kwargs) as response:
            if response.status_code in expect:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code} (expected {'/'.join(map(str, expect))})")
                self.flow = None
        return response

    def get(self, url: str, name: str, expect=(200,)):
        return self.call("GET", url, name, expect)

    def post(self, url: str, fields: list[tuple[str, str]], name: str, expect=(303,), files=None):
        if files:
            body, content_type = multipart(fields, files)
        else:
            body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        return self.call("POST", url, name, expect, data=body, headers={"Content-Type": content_type})

    def failed(self, response, expect=(200,)) -> bool:
        return response.status_code not in expect

    def log_in(self, login: str, password: str) -> None:
        page = self.get("/auth/login", "auth: login page")
        form = find_form(page.text, field="password")
        fields = [(n, v) for n, v in form.fields if n not in ("login", "password")]
        fields += [("login", login), ("password", password)]
        self.post("/auth/login", fields, "auth: log in", expect=(302, 303))


class Visitor(PortalUser):
    """Anonymous browsing: home, the catalogue and its programme and partner pages, open data."""

    weight = 50
    journeys = ((3, "home"), (4, "catalogue"), (2, "partner"), (2, "open_data"))

    def home(self):
        self.get("/", "public: home")
        yield

    def catalogue(self):
        filters = random.choice([{}, {}, {"sector": random.choice(FIXTURE["sectors"])},
                                 {"kind": random.choice(["enterprise", "cooperative", "household_business"])},
                                 {"pillar": random.choice(["customer", "operations", "data"])}, {"page": "2"}])
        self.get("/catalogue/" + (f"?{urlencode(filters)}" if filters else ""), "public: catalogue")
        yield
        self.get(f"/catalogue/programmes/{random.choice(FIXTURE['programme_ids'])}", "public: programme page")
        yield

    def partner(self):
        self.get(f"/catalogue/partners/{random.choice(FIXTURE['partner_ids'])}", "public: partner page")
        yield

    def open_data(self):
        self.get("/open-data/", "public: open data")
        yield
        dataset, fmt = random.choice(["maturity", "uptake"]), random.choice(["json", "csv"])
        self.get(f"/open-data/{dataset}.{fmt}", "public: open data download")
        yield


class Business(PortalUser):
    """A business owner: the self-assessment, results, recommendations and an application with a document."""

    weight = 36
    journeys = ((4, "assessment"), (3, "results"), (3, "application"), (1, "overview"))

    def on_start(self):
        super().on_start()
        me = next(_businesses)
        self.org = me["org_id"]
        self.assessment_id = me["assessment_id"]
        self.programme = me["programme"]
        self.log_in(me["login"], FIXTURE["password"])

    def _base(self) -> str:
        return f"/organisations/{self.org}"

    def overview(self):
        self.get(self._base(), "business: organisation page")
        yield
        self.get(f"{self._base()}/applications/", "business: applications list")
        yield

    def assessment(self):
        """Open or continue the draft, answer one to six steps, and (sometimes) submit and read the results."""
        page = self.get(f"{self._base()}/assessments/", "business: assessments overview")
        yield
        if self.failed(page):
            return
        start = find_form(page.text, action_end="/start")
        if start is not None:
            response = self.post(start.action, start.fields, "business: start self-assessment")
        else:
            match = re.search(r'href="([^"]+/continue)"', page.text)
            if match is None:
                return
            response = self.get(match.group(1), "business: continue self-assessment", expect=(303,))
        yield
        if self.failed(response, (303,)):
            return
        target = location(response)
        match = re.search(r"/assessments/(\d+)/(?:steps/(\d+)|review)", target)
        if match is None:
            return
        draft_id = int(match.group(1))
        draft = f"{self._base()}/assessments/{draft_id}"
        first = int(match.group(2) or 1)
        finish = random.random() < 0.35
        steps = range(first, 7) if finish else range(first, min(first + random.randint(1, 2), 7))
        for step in steps:
            page = self.get(f"{draft}/steps/{step}", "business: assessment step")
            yield
            form = find_form(page.text, field="shown")
            if form is None:
                return
            fields = [(n, v) for n, v in form.fields if not n.startswith("q-")]
            for name, values in form.choices.items():
                if name.startswith("q-"):
                    fields.append((name, random.choice(values)))  # one box of a list is always a valid answer
            last = step == steps[-1]
            fields.append(("action", "next" if (finish or not last) else "later"))
            response = self.post(f"{draft}/steps/{step}", fields, "business: save assessment step")
            yield
            if self.failed(response, (303,)):
                return
        if not finish:
            return
        page = self.get(f"{draft}/review", "business: review answers")
        yield
        form = find_form(page.text, action_end="/submit")
        if form is None:
            return
        response = self.post(form.action, form.fields, "business: submit self-assessment")
        yield
        if self.failed(response, (303,)):
            return
        self.assessment_id = draft_id
        self.get(f"{draft}/results", "business: assessment results")
        yield

    def results(self):
        self.get(f"{self._base()}/assessments/{self.assessment_id}/results", "business: assessment results")
        yield
        self.get(f"{self._base()}/recommendations/", "business: recommendations")
        yield

    def application(self):
        """Open the programme's draft (created on the first visit), save it with a PDF, or replace a document."""
        if not self.programme:
            return
        response = self.get(f"{self._base()}/applications/new?programme={self.programme}",
                            "business: apply (programme check)", expect=(200, 303))
        yield
        if response.status_code == 200:
            form = find_form(response.text, action_end="/applications/new")
            if form is None:
                return
            response = self.post(form.action, form.fields, "business: start application")
            yield
            if self.failed(response, (303,)):
                return
        detail = location(response).split("#")[0]
        page = self.get(detail, "business: application draft")
        yield
        form = find_form(page.text, field="project_title")
        if form is None:
            return
        removable = [f for f in forms(page.text) if urlsplit(f.action).path.endswith("/remove")]
        if len(removable) >= 3:
            doomed = random.choice(removable)
            response = self.post(doomed.action, doomed.fields, "business: remove a document")
            yield
            return
        fields = [(n, v) for n, v in form.fields if n not in ("project_title", "project_description",
                                                              "planned_cost_vnd", "requested_vnd")]
        fields += [("project_title", "Phần mềm bán hàng và hoá đơn điện tử"),
                   ("project_description", "Mua phần mềm bán hàng, kết nối hoá đơn điện tử, đào tạo 2 nhân viên."),
                   ("planned_cost_vnd", f"{random.randint(3, 9) * 10}.000.000"), ("requested_vnd", ""),
                   ("save", "save")]
        upload = [(random.choice(form.files), "bao-gia.pdf", PDF, "application/pdf")] if form.files else []
        response = self.post(form.action, fields, "business: save draft with a PDF", files=upload)
        yield
        if self.failed(response, (303,)):
            return
        self.get(detail, "business: application draft")
        yield


class Staff(PortalUser):
    """A reviewer: the queue with filters and pages, application pages, a comment on the timeline."""

    weight = 14
    journeys = ((4, "queue"), (5, "application"), (1, "dashboard"))
    QUEUE_FILTERS = (
        {}, {}, {"state": "all"}, {"state": "all", "page": "2"}, {"sort": "amount"}, {"sort": "newest"},
        {"state": "submitted"}, {"kind": "cooperative"}, {"assigned": "me"}, {"waiting": "10"},
        {"q": "Thử tải 10"},
    )

    def on_start(self):
        super().on_start()
        self.log_in(next(_staff), FIXTURE["password"])

    def queue(self):
        filters = dict(random.choice(self.QUEUE_FILTERS))
        if random.random() < 0.3:
            filters["programme"] = str(random.choice(FIXTURE["programme_ids"]))
        if random.random() < 0.2:
            filters["sector"] = random.choice(FIXTURE["sectors"])
        self.get("/review/" + (f"?{urlencode(filters)}" if filters else ""), "staff: review queue")
        yield

    def application(self):
        url = f"/review/applications/{random.choice(FIXTURE['review_application_ids'])}"
        page = self.get(url, "staff: application page")
        yield
        if self.failed(page) or random.random() < 0.5:
            return
        form = find_form(page.text, action_end="/comments")
        if form is None:
            return
        fields = [(n, v) for n, v in form.fields if not n.endswith("body")]
        fields.append(("comment-body", "Đã kiểm tra hồ sơ, chờ bổ sung báo giá chi tiết."))
        response = self.post(form.action, fields, "staff: add a comment")
        yield
        if self.failed(response, (303,)):
            return
        self.get(url, "staff: application page")
        yield

    def dashboard(self):
        self.get("/dashboard/", "staff: dashboard")
        yield


def _fixed_counts() -> None:
    """Exactly ``LOAD_USERS`` users in the shares above (Locust's weights would round differently)."""
    business = max(1, round(USERS * BUSINESS_SHARE))
    staff = max(1, round(USERS * STAFF_SHARE))
    Business.fixed_count, Staff.fixed_count = business, staff
    Visitor.fixed_count = max(1, USERS - business - staff)


_fixed_counts()
