"""The report as one self-contained HTML file: page.html (styles and script inline) with the
page data embedded as JSON. No network: it works from file:// and as a CI artifact."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

PLACEHOLDER = "__LABTAX_DATA__"


def render_html(data: dict[str, Any]) -> str:
    """page.html with `data` in its JSON script element."""
    page = resources.files("labtax.report").joinpath("page.html").read_text(encoding="utf-8")
    return page.replace(PLACEHOLDER, embed_json(data), 1)


def embed_json(data: dict[str, Any]) -> str:
    """JSON that cannot end its <script> element early: "<" is written as \\u003c (record text may
    hold "</script>")."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
