"""A short Markdown summary of the report: for a pull request comment or a CI job summary."""

from __future__ import annotations

from typing import Any

from labtax.models.progress import plural


def render_markdown(data: dict[str, Any], html_name: str | None = None) -> str:
    t = data["totals"]
    lines = [
        "## labtax report",
        "",
        f"{plural(t['records'], 'record')} from {plural(t['leaves'], 'leaf', 'leaves')}, "
        f"{plural(t['dropped'], 'dropped candidate')}; teacher calls {t['teacher_calls']}, "
        f"cache hits {t['cache_hits']}, leaf wall time {t['wall_s']} s (summed).",
        "",
    ]
    since = data.get("since")
    header = "| leaf | records | dropped | yield | teacher calls | cache hits |" + (
        " since |" if since else ""
    )
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    lines += [_leaf_row(leaf, since is not None) for leaf in data["leaves"]]
    flagged = [leaf for leaf in data["leaves"] if leaf["flag"]]
    if flagged:
        lines += [
            "",
            "**Stand out:** " + ", ".join(f"`{leaf['folder']}` ({_flag(leaf)})" for leaf in flagged),
        ]
    if since:
        lines += [
            "",
            f"Compared with `{since['label']}`: {plural(len(since['leaves']), 'leaf', 'leaves')} changed.",
        ]
    lines += _eval_lines(data.get("eval"))
    if html_name:
        lines += ["", f"Every record and dropped candidate: `{html_name}`."]
    return "\n".join(lines) + "\n"


def _leaf_row(leaf: dict[str, Any], with_change: bool) -> str:
    yield_ = "-" if leaf["yield"] is None else f"{leaf['yield']:.0%}"
    cells = [
        f"`{leaf['folder']}`",
        str(leaf["records"]),
        str(leaf["dropped"]),
        yield_,
        _n(leaf.get("teacher_calls")),
        _n(leaf.get("cache_hits")),
    ]
    if with_change:
        change = leaf.get("change")
        cells.append(f"+{change['added']} −{change['removed']}" if change else "no change")
    return "| " + " | ".join(cells) + " |"


def _eval_lines(evaluation: dict[str, Any] | None) -> list[str]:
    if not evaluation:
        return []
    regressions = evaluation.get("regressions") or []
    lines = [
        "",
        f"**Evaluation:** {plural(len(evaluation.get('models') or []), 'model')}, "
        f"{plural(len(regressions), 'regression')}.",
    ]
    for item in regressions[:20]:
        lines.append("- " + ", ".join(f"{k} {v}" for k, v in item.items()))
    clean = evaluation.get("contamination")
    if clean and clean.get("checked"):
        dirty = [leaf for leaf, s in (clean.get("by_leaf") or {}).items() if s.get("contaminated")]
        lines.append(
            f"**Clean sets:** {clean['contaminated']} of {plural(clean['items'], 'evaluation item')} "
            f"contaminated ({clean['ngram']}-grams){': ' + ', '.join(dirty) if dirty else ''}."
        )
    return lines


def _flag(leaf: dict[str, Any]) -> str:
    return "no records" if leaf["flag"] == "zero" else f"low yield {leaf['yield']:.0%}"


def _n(value: Any) -> str:
    return "-" if value is None else str(value)
