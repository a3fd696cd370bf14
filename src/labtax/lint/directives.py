"""yamllint's inline directives, as InstructLab's checker honours them (it runs yamllint).

    # yamllint disable-file                         first line: no yamllint problem in the file
    # yamllint disable [rule:ID ...]                from here on (all rules, or those listed)
    # yamllint enable [rule:ID ...]                 from here on again
    # yamllint disable-line [rule:ID ...]           this line (after code) or the next (alone)

Under the instructlab profile, findings of the rules that stand for a yamllint rule (a rule
module's YAMLLINT name) are dropped where yamllint would drop them, so the profile reports what
InstructLab reports. Comments are found line by line: a `#` starting a comment, as yamllint reads
them outside quoted strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"(?:^|(?<=\s))# yamllint (disable-line|disable|enable)((?: rule:\S+)*)\s*$")
_DISABLE_FILE = re.compile(r"#\s*yamllint disable-file\s*")
ALL = "*"


@dataclass(frozen=True)
class Directive:
    line: int
    column: int
    kind: str  # "disable" | "enable" | "disable-line"
    rules: frozenset[str]  # yamllint rule ids; {ALL} when none are named
    inline: bool  # after code on its line (disable-line then covers this line, else the next)


def directives(text: str) -> list[Directive]:
    """Every yamllint directive of `text`, in order."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        match = _DIRECTIVE.search(line.rstrip("\r"))
        if match:
            rules = frozenset(item.removeprefix("rule:") for item in match.group(2).split()) or frozenset(
                {ALL}
            )
            found.append(
                Directive(
                    number, match.start() + 1, match.group(1), rules, bool(line[: match.start()].strip())
                )
            )
    return found


def file_disabled(text: str) -> bool:
    return _DISABLE_FILE.fullmatch(text.split("\n", 1)[0].rstrip("\r")) is not None


def silenced(found: list[Directive], rule: str, line: int, column: int) -> bool:
    """Whether yamllint drops its `rule` problem at line:column because of the directives `found`."""
    off: set[str] = set()
    for d in (d for d in found if (d.line, d.column) < (line, column) and d.kind != "disable-line"):
        if d.kind == "disable":
            off |= d.rules
        else:
            off = set() if ALL in d.rules else off - d.rules
    if ALL in off or rule in off:
        return True
    return any(
        d.kind == "disable-line"
        and (ALL in d.rules or rule in d.rules)
        and line == (d.line if d.inline else d.line + 1)
        for d in found
    )
