"""Build ``app/data/admin_units/<province code>.json`` from the commune annex of Công văn 1027/CTK-CSCL.

The annex is a Markdown table (Stt | Mã số | Tên đơn vị hành chính | Tỉnh (thành phố)); the whole
annex or an excerpt of it both work. Only rows whose province column matches ``--province-name``
are kept. Not needed at runtime: the app reads the JSON this writes.

    .venv/bin/python scripts/build_admin_units.py \
        app/data/admin_units/sources/1027_CTK-CSCL_quang_ngai.md \
        --province-code 51 --province-name "Quảng Ngãi"
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "app" / "data" / "admin_units"
#: Official prefixes of commune-level unit names and the kind they denote.
KINDS = (("Đặc khu ", "đặc khu"), ("Phường ", "phường"), ("Xã ", "xã"))
ROW_RE = re.compile(r"^\|\s*(\d+)\s*\|\s*(\d{5})\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*$")


def _clean(cell: str) -> str:
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", cell.replace("<br>", " ")).strip())


def parse_rows(text: str, province_name: str) -> list[dict[str, str]]:
    """The units of one province, in the order of the annex."""
    units = []
    for line in text.splitlines():
        match = ROW_RE.match(line.strip())
        if not match:
            continue
        _, code, full_name, province = (_clean(group) for group in match.groups())
        if not province.endswith(province_name):
            continue
        for prefix, kind in KINDS:
            if full_name.startswith(prefix):
                units.append({"code": code, "name": full_name[len(prefix):], "kind": kind})
                break
        else:
            raise ValueError(f"unit {code} {full_name!r} has no known kind prefix")
    codes = [unit["code"] for unit in units]
    if len(codes) != len(set(codes)):
        raise ValueError("duplicate unit codes in the source")
    return units


def render(document: dict) -> str:
    """JSON with one unit per line, so a change to the list reads well in a diff."""
    head = {key: value for key, value in document.items() if key != "units"}
    lines = ["{"]
    lines += [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}," for key, value in head.items()]
    lines.append('  "units": [')
    rows = [f"    {json.dumps(unit, ensure_ascii=False)}" for unit in document["units"]]
    lines.append(",\n".join(rows))
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--province-code", required=True)
    parser.add_argument("--province-name", required=True)
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)

    province_name = _clean(args.province_name)
    units = parse_rows(args.source.read_text(encoding="utf-8"), province_name)
    if not units:
        print(f"no units for {province_name!r} in {args.source}", file=sys.stderr)
        return 1
    document = {
        "province_code": args.province_code,
        "province_name": province_name,
        "source": "Công văn 1027/CTK-CSCL (25/6/2025), Phụ lục I; in force from 1/7/2025",
        "units": units,
    }
    out = args.out_dir / f"{args.province_code}.json"
    out.write_text(render(document), encoding="utf-8")
    counts = {kind: sum(1 for unit in units if unit["kind"] == kind) for _, kind in KINDS}
    print(f"{out}: {len(units)} units {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
