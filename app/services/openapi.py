"""The OpenAPI 3.1 description of the JSON API: data in ``app/api_spec/openapi.yaml``, loaded once.

The document is the contract: ``/api/v1/openapi.json`` serves it, ``/api/v1/docs`` renders it for
people (``describe``), and the tests check it against the routes and real responses.
Keeping it as data, not code spread over the views, means a new endpoint is one more entry in the file.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

SPEC_FILE = Path(__file__).resolve().parent.parent / "api_spec" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCHEMA_PREFIX = "#/components/schemas/"

#: A type shown on the docs page, as pieces: (text, anchor of a schema to link to, or None).
Segments = list[tuple[str, str | None]]


@functools.cache
def _load() -> dict[str, Any]:
    with SPEC_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def document() -> dict[str, Any]:
    """A fresh copy of the document (callers may change their copy)."""
    return copy.deepcopy(_load())


@functools.cache
def document_json() -> bytes:
    """The document as the UTF-8 JSON that ``/api/v1/openapi.json`` serves."""
    return json.dumps(_load(), ensure_ascii=False, indent=1).encode("utf-8")


def server_url(doc: Mapping[str, Any] | None = None) -> str:
    """The path prefix the document's paths are relative to ("/api/v1")."""
    doc = doc or _load()
    return doc["servers"][0]["url"].rstrip("/")


def resolve(ref: str, doc: Mapping[str, Any] | None = None) -> Any:
    """The object a local ``$ref`` ("#/components/...") points to."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are used here, got {ref!r}")
    node: Any = doc or _load()
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _deref(node: Any, doc: Mapping[str, Any]) -> Any:
    while isinstance(node, Mapping) and "$ref" in node and len(node) == 1:
        node = resolve(node["$ref"], doc)
    return node


# --- The docs page -----------------------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"`([^`]+)`")


def text_segments(text: str | None) -> list[tuple[str, bool]]:
    """Markdown-ish text as (piece, is_code) pairs, so the page can show `code` without trusting HTML."""
    if not text:
        return []
    pieces = _CODE_SPAN.split(text.strip())
    return [(piece, index % 2 == 1) for index, piece in enumerate(pieces) if piece]


def paragraphs(text: str | None) -> list[list[tuple[str, bool]]]:
    """Text split at blank lines, each paragraph as ``text_segments``."""
    if not text:
        return []
    return [text_segments(" ".join(block.split())) for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]


def schema_anchor(name: str) -> str:
    return f"schema-{name}"


def type_segments(schema: Mapping[str, Any] | None) -> Segments:
    """A short readable type: "array of Option", "string, one of: full, short", "Answer"..."""
    if not schema:
        return [("any", None)]
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(SCHEMA_PREFIX)
        return [(name, schema_anchor(name))]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            out: Segments = []
            for index, choice in enumerate(schema[key]):
                if index:
                    out.append((" | ", None))
                out.extend(type_segments(choice))
            return out
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    if kind == "array":
        if "prefixItems" in schema:
            inner = ", ".join(item.get("type", "any") for item in schema["prefixItems"])
            return [(f"array [{inner}]", None)]
        return [("array of ", None), *type_segments(schema.get("items"))]
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping) and "properties" not in schema:
        return [("object: key → ", None), *type_segments(schema["additionalProperties"])]
    label = kind
    if "format" in schema:
        label += f" ({schema['format']})"
    if "enum" in schema:
        label += ", one of: " + ", ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        label += f" = {schema['const']}"
    return [(label, None)]


def constraints(schema: Mapping[str, Any]) -> str:
    """Bounds and patterns worth telling a reader ("0 to 100", "at least 1 item")."""
    parts = []
    if "minimum" in schema and "maximum" in schema:
        parts.append(f"{schema['minimum']} to {schema['maximum']}")
    elif "minimum" in schema:
        parts.append(f"≥ {schema['minimum']}")
    elif "maximum" in schema:
        parts.append(f"≤ {schema['maximum']}")
    if "pattern" in schema:
        parts.append(f"pattern {schema['pattern']}")
    if "minItems" in schema and "prefixItems" not in schema:
        parts.append(f"at least {schema['minItems']} item(s)")
    return "; ".join(parts)


def _examples(media: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    if "example" in media:
        found.append({"summary": "", "json": json.dumps(media["example"], ensure_ascii=False, indent=2)})
    for example in (media.get("examples") or {}).values():
        found.append({"summary": example.get("summary", ""),
                      "json": json.dumps(example["value"], ensure_ascii=False, indent=2)})
    return found


def _content(content: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [
        {"media_type": media_type, "type": type_segments(media.get("schema")), "examples": _examples(media)}
        for media_type, media in (content or {}).items()
    ]


def _operation_view(doc: Mapping[str, Any], path: str, method: str, op: Mapping[str, Any]) -> dict[str, Any]:
    full_path = server_url(doc) + path
    parameters = []
    for parameter in op.get("parameters", []):
        parameter = _deref(parameter, doc)
        parameters.append({
            "name": parameter["name"],
            "in": parameter["in"],
            "required": parameter.get("required", False),
            "type": type_segments(parameter.get("schema")),
            "description": text_segments(parameter.get("description")),
        })
    body = None
    if "requestBody" in op:
        request_body = _deref(op["requestBody"], doc)
        body = {"required": request_body.get("required", False),
                "description": text_segments(request_body.get("description")),
                "content": _content(request_body.get("content"))}
    responses = []
    for status, response in op.get("responses", {}).items():
        response = _deref(response, doc)
        responses.append({
            "status": str(status),
            "description": text_segments(response.get("description")),
            "headers": [{"name": name, "description": text_segments(_deref(header, doc).get("description"))}
                        for name, header in (response.get("headers") or {}).items()],
            "content": _content(response.get("content")),
        })
    return {
        "method": method.upper(),
        "path": full_path,
        "anchor": "op-" + (op.get("operationId") or re.sub(r"[^a-zA-Z0-9]+", "-", f"{method}{path}")),
        "summary": op.get("summary", ""),
        "description": paragraphs(op.get("description")),
        "parameters": parameters,
        "body": body,
        "responses": responses,
    }


def _schema_view(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required", []))
    properties = []
    for prop_name, prop in (schema.get("properties") or {}).items():
        properties.append({
            "name": prop_name,
            "required": prop_name in required,
            "type": type_segments(prop),
            "description": text_segments(prop.get("description")),
            "constraints": constraints(prop),
        })
    extra = schema.get("additionalProperties")
    return {
        "name": name,
        "anchor": schema_anchor(name),
        "description": text_segments(schema.get("description")),
        "type": type_segments(schema) if not properties else [("object", None)],
        "constraints": constraints(schema),
        "properties": properties,
        "closed": extra is False,
    }


def describe() -> dict[str, Any]:
    """The document as plain data for the docs page: info, operations by path, and schemas."""
    doc = _load()
    operations = [
        _operation_view(doc, path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]
    return {
        "title": doc["info"]["title"],
        "version": doc["info"]["version"],
        "summary": doc["info"].get("summary", ""),
        "description": paragraphs(doc["info"].get("description")),
        "operations": operations,
        "schemas": [_schema_view(name, schema) for name, schema in doc["components"]["schemas"].items()],
    }
