"""The report's data: what read.py found, turned into the plain values the page and the Markdown
summary show. Rows are arrays (columns in ROW_COLUMNS) and grounding passages are stored once,
so 100,000 records stay a reasonable file."""

from __future__ import annotations

import statistics
from typing import Any

from labtax.generate import knowledge, skills
from labtax.report.read import Output

ROW_COLUMNS = (
    "status",
    "leaf",
    "stage",
    "reason",
    "verdict",
    "score",
    "question",
    "answer",
    "context",
    "source",
    "raw",
    "id",
    "new",
    "group",
)
LOW_YIELD = 0.5  # a leaf whose yield is under half the median of the others stands out
CURVE_POINTS = 1500  # most points drawn per curve (longer curves are thinned evenly)


def page_data(
    output: Output,
    earlier: Output | None = None,
    evaluation: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the page shows, as one JSON-ready value."""
    since = compare(output, earlier) if earlier is not None else None
    leaves = [
        leaf_summary(path, entry, output, since) for path, entry in output.manifest.get("leaves", {}).items()
    ]
    flag_yields(leaves)
    rows = Rows([leaf["path"] for leaf in leaves])
    for path in rows.leaves:
        rows.add_leaf(path, output.records.get(path) or [], output.dropped.get(path, []), since)
    if since is not None:
        for path, removed in since["removed_records"].items():
            rows.add_removed(path, removed)
    data: dict[str, Any] = {
        "input": output.label,
        "last_run": output.manifest.get("last_run"),
        "totals": totals(leaves),
        "leaves": leaves,
        **rows.as_dict(),
    }
    if since is not None:
        data["since"] = {"label": earlier.label, "leaves": since["leaves"]}
    if evaluation is not None:
        data["eval"] = evaluation
    if run is not None:
        data["run"] = curves(run)
    return data


def pipeline_order(stages: dict[str, Any]) -> list[str]:
    """The manifest's stage names in the order the stages run (the manifest sorts its keys);
    stages this report does not know come last."""
    known = [*skills.STAGES, *knowledge.STAGES]
    return sorted(stages, key=lambda name: (known.index(name) if name in known else len(known), name))


def leaf_summary(
    path: str, entry: dict[str, Any], output: Output, since: dict[str, Any] | None
) -> dict[str, Any]:
    counts = entry.get("stages", {})
    stages = [{"name": name, **counts[name]} for name in pipeline_order(counts)]
    first = stages[0]["generated"] if stages else 0
    records = (
        len(output.records[path]) if output.records.get(path) is not None else int(entry.get("records", 0))
    )
    summary = {
        "path": path,
        "folder": str(entry.get("output") or path).removesuffix(".jsonl").removesuffix("/qna.yaml"),
        "branch": entry.get("branch"),
        "records": records,
        "manifest_records": entry.get("records"),
        "dropped": sum(sum(s.get("dropped", {}).values()) for s in stages),
        "stages": stages,
        "yield": round(records / first, 4) if first else None,
        "target": entry.get("target"),
        "teacher": entry.get("teacher"),
        "taxonomy_commit": entry.get("taxonomy_commit"),
        **{
            key: entry.get(key)
            for key in (
                "calls",
                "teacher_calls",
                "cache_hits",
                "wall_s",
                "tokens",
                "generated_wall_s",
                "generated_teacher_calls",
            )
        },
    }
    summary["met"] = None if summary["target"] is None else records >= int(summary["target"])
    if since is not None:
        summary["change"] = since["leaves"].get(path)
    return summary


def flag_yields(leaves: list[dict[str, Any]]) -> None:
    """Mark leaves with no records ("zero") or a yield far below the median of the others ("low")."""
    for leaf in leaves:
        others = [o["yield"] for o in leaves if o is not leaf and o["yield"] is not None]
        median = statistics.median(others) if others else None
        if leaf["records"] == 0:
            leaf["flag"] = "zero"
        elif median and leaf["yield"] is not None and leaf["yield"] < LOW_YIELD * median:
            leaf["flag"] = "low"
        else:
            leaf["flag"] = None


def totals(leaves: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("records", "dropped", "calls", "teacher_calls", "cache_hits")
    out: dict[str, Any] = {key: sum(int(leaf.get(key) or 0) for leaf in leaves) for key in keys}
    out["leaves"] = len(leaves)
    out["wall_s"] = round(sum(float(leaf.get("wall_s") or 0) for leaf in leaves), 3)
    out["flagged"] = sum(1 for leaf in leaves if leaf["flag"])
    return out


def compare(output: Output, earlier: Output) -> dict[str, Any]:
    """Per leaf, the records added and removed since `earlier` (by record id; by count where the
    earlier records are not at hand), and the removed records themselves."""
    leaves: dict[str, Any] = {}
    removed_records: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(set(output.manifest.get("leaves", {})) | set(earlier.manifest.get("leaves", {}))):
        now, before = _ids(output, path), _ids(earlier, path)
        if now is not None and before is not None:
            added, removed = now.keys() - before.keys(), before.keys() - now.keys()
            change = {"added": len(added), "removed": len(removed), "by": "id", "added_ids": sorted(added)}
            removed_records[path] = [before[i] for i in sorted(removed)]
        else:
            delta = _count(output, path) - _count(earlier, path)
            change = {"added": max(delta, 0), "removed": max(-delta, 0), "by": "count", "added_ids": []}
        change["before"], change["after"] = _count(earlier, path), _count(output, path)
        if change["added"] or change["removed"]:
            leaves[path] = change
    return {"leaves": leaves, "removed_records": removed_records}


def _ids(state: Output, path: str) -> dict[str, dict[str, Any]] | None:
    if path not in state.manifest.get("leaves", {}):
        return {}
    records = state.records.get(path)
    return None if records is None else {str(r.get("id")): r for r in records}


def _count(state: Output, path: str) -> int:
    records = state.records.get(path)
    if records is not None:
        return len(records)
    return int(state.manifest.get("leaves", {}).get(path, {}).get("records", 0))


class Rows:
    """Kept records, dropped candidates and removed records as arrays, with the leaves, stages and
    grounding passages each stored once and referred to by index."""

    def __init__(self, leaves: list[str]) -> None:
        self.leaves = leaves
        self.stages: list[str] = []
        self.contexts: list[str] = []
        self.rows: list[list[Any]] = []
        self._leaf_index = {path: i for i, path in enumerate(leaves)}
        self._index: dict[tuple[str, str], int] = {}

    def _intern(self, table: list[str], kind: str, value: str | None) -> int:
        if value is None:
            return -1
        key = (kind, value)
        if key not in self._index:
            self._index[key] = len(table)
            table.append(value)
        return self._index[key]

    def _leaf(self, path: str) -> int:
        if path not in self._leaf_index:  # a removed leaf, only in the earlier state
            self._leaf_index[path] = len(self.leaves)
            self.leaves.append(path)
        return self._leaf_index[path]

    def add_leaf(
        self,
        path: str,
        records: list[dict[str, Any]],
        dropped: list[dict[str, Any]],
        since: dict[str, Any] | None,
    ) -> None:
        new = set(since["leaves"].get(path, {}).get("added_ids", [])) if since else set()
        for record in records:
            self.rows.append(self._kept(path, record, "kept", record.get("id") in new))
        for candidate in dropped:
            self.rows.append(self._dropped(path, candidate))

    def add_removed(self, path: str, records: list[dict[str, Any]]) -> None:
        self.rows.extend(self._kept(path, record, "removed", False) for record in records)

    def _kept(self, path: str, record: dict[str, Any], status: str, new: bool) -> list[Any]:
        question, answer = _turns(record.get("messages") or [])
        scores = record.get("scores") or {}
        return [
            status,
            self._leaf(path),
            -1,
            None,
            None,
            _score(scores, None),
            question,
            answer,
            self._intern(self.contexts, "c", record.get("context")),
            record.get("source"),
            None,
            record.get("id"),
            int(new),
            None,
        ]

    def _dropped(self, path: str, row: dict[str, Any]) -> list[Any]:
        return [
            "dropped",
            self._leaf(path),
            self._intern(self.stages, "s", str(row.get("stage"))),
            row.get("reason"),
            row.get("verdict"),
            _score(row.get("scores") or {}, row.get("verdict")),
            row.get("question") or "",
            row.get("answer") or "",
            self._intern(self.contexts, "c", row.get("context")),
            row.get("source"),
            row.get("raw"),
            row.get("id"),
            0,
            row.get("duplicate_of"),
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "columns": list(ROW_COLUMNS),
            "leaf_paths": self.leaves,
            "stages": self.stages,
            "contexts": self.contexts,
            "rows": self.rows,
        }


def _turns(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """The last user turn and the assistant turn after it."""
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    answer = next((m["content"] for m in reversed(messages) if m.get("role") == "assistant"), "")
    return str(user), str(answer)


def _score(scores: dict[str, Any], verdict: str | None) -> int | None:
    """The pair rating (1-3) where there is one: the kept score, or the rating a dropped pair got."""
    pair = scores.get("pair")
    if isinstance(pair, (int, float)) and not isinstance(pair, bool):
        return int(pair)
    return int(verdict) if verdict is not None and verdict.isdigit() else None


def curves(run: dict[str, Any]) -> dict[str, Any]:
    """Training and validation loss per phase, steps continuing across phases (as loss.png draws them)."""
    series, offset = [], 0
    phases = list(dict.fromkeys(m.get("phase") for m in run["metrics"]))
    for phase in phases:
        steps = [m for m in run["metrics"] if m.get("phase") == phase and m.get("kind") == "step"]
        epochs = [
            m
            for m in run["metrics"]
            if m.get("phase") == phase and m.get("kind") == "epoch" and m.get("val_loss") is not None
        ]
        if not steps:
            continue
        series.append(
            {
                "phase": phase,
                "kind": "train",
                "points": _thin([[offset + m["step"], m["loss"]] for m in steps]),
            }
        )
        series.append(
            {
                "phase": phase,
                "kind": "validation",
                "points": [[offset + m["step"], m["val_loss"]] for m in epochs],
            }
        )
        offset += max(m["step"] for m in steps)
    chosen = {p: e.get("chosen") for p, e in run["journal"].get("phases", {}).items() if isinstance(e, dict)}
    return {"name": run["name"], "series": series, "chosen": chosen}


def _thin(points: list[list[float]]) -> list[list[float]]:
    if len(points) <= CURVE_POINTS:
        return points
    step = len(points) / CURVE_POINTS
    return [points[int(i * step)] for i in range(CURVE_POINTS)] + [points[-1]]
