"""Open data pages: the explanation with the data dictionary, and the downloads.

Downloads are the same for everyone, so they may be cached by browsers and proxies (``public``) for
``OPENDATA_CACHE_SECONDS``; the ETag is the data version, and a client that sends it back gets 304
without the file being read. The language of the CSV headers and of the names comes from ``?lang=``
(the page's links always carry it, so a URL always means one file), else from the visitor's language.
"""

from __future__ import annotations

import gzip

from flask import Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from app.blueprints.opendata import bp
from app.security import public
from app.services import opendata


def _lang() -> str:
    return "en" if str(get_locale() or "vi").startswith("en") else "vi"


@bp.route("/")
@public
def index():
    """What the data are, the licence, the data dictionary, the anonymity rule and the download links."""
    lang = _lang()
    datasets = [dataset.to_dict(lang) for dataset in opendata.DATASETS.values()]
    return render_template("opendata/index.html", datasets=datasets, lang=lang, min_cell=opendata.MIN_CELL,
                           licence=opendata.LICENCE, max_age=opendata.max_age())


@bp.route("/<any(maturity, uptake):dataset>.<any(json, csv):fmt>")
@public
def download(dataset: str, fmt: str):
    """One dataset as JSON or CSV (UTF-8 with BOM), cached on the server and cacheable by clients."""
    requested = request.args.get("lang")
    if requested is not None and requested not in ("vi", "en"):
        return render_template("errors/error.html", code=400, title=_("Bad request"),
                               message=_("Choose the language vi or en.")), 400
    lang = requested or _lang()
    version = opendata.current_version(dataset)
    gzipped = "gzip" in request.accept_encodings
    etag = opendata.etag_for(dataset, fmt, lang, version)
    headers = {
        "Cache-Control": f"public, max-age={opendata.max_age()}",
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
        "Content-Language": lang,
    }
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="dxportal-{dataset}-{lang}.csv"'
    # One entity tag per representation (gzipped or not), as HTTP caches expect.
    representation = f"{etag}-gzip" if gzipped else etag
    if request.if_none_match.contains(representation):
        response = Response(status=304, headers=headers)
        response.set_etag(representation)
        return response
    body = opendata.download(dataset, fmt, lang, version)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    else:
        body = gzip.decompress(body)
    mimetype = "application/json" if fmt == "json" else "text/csv"
    response = Response(body, mimetype=mimetype, headers=headers)
    response.set_etag(representation)
    return response
