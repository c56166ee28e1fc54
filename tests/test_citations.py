"""Citations a reader can follow (issue 18, point 10).

Code, tests, the README, the config and the hook file cite the company's rules by id and the
project's notes by section. Every cited rule must be on ``docs/rules.md``, and every ``<name>.md``
or ``§X.Y`` must name a file of the repository and a numbered heading in it. A section cited
with no file named before it on the same line (``reference §3.4``, ``(§2.2)``) is a section of
``docs/whmcs.md``. A failure lists each citation that leads nowhere as ``path:line``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RULES = DOCS / "rules.md"
DEFAULT_DOC = DOCS / "whmcs.md"
TEXT_SUFFIXES = {".py", ".md", ".php", ".toml", ".cfg", ".j2", ".sh", ".cron", ".txt", ".ini"}
TEXT_NAMES = {"Makefile"}
MAX_BYTES = 400_000  # schema dumps and other fixtures cite nothing

RULE = re.compile(r"\bR-([A-Z]{2})-(\d+)(?:(\.\.|/)(\d+))?")
CITATION = re.compile(
    r"(?P<doc>(?:[\w.-]+/)*[A-Za-z][\w-]*)\.md\b"
    r"|(?P<reference>\b[Rr]eference\b)"
    r"|(?P<bare>\b(?:ARCHITECTURE|STYLE|RULES)\b)(?!\.md)"
    r"|§\s?(?P<first>\d+(?:\.\d+)*)(?:\s?[-–]\s?(?P<last>\d+(?:\.\d+)*))?"
)
URL = re.compile(r"https?://\S+")
HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s")
DEFINED_RULE = re.compile(r"^- \*\*(R-[A-Z]{2}-\d+)\*\*")


def _repository_files() -> list[Path]:
    """Tracked files and new ones not ignored: what other helpers are adding is checked too."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    found = []
    for name in listed:
        path = ROOT / name
        if not name or path == Path(__file__).resolve() or not path.is_file():
            continue
        is_text = path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES
        if is_text and path.stat().st_size <= MAX_BYTES:
            found.append(path)
    return found


def _lines() -> Iterator[tuple[str, int, str]]:
    for path in _repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        where = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(text.splitlines(), start=1):
            yield where, number, line


def _expand(prefix: str, first: str, last: str | None) -> list[str]:
    """``R-CA-1..3`` -> three ids, ``R-TR-1/8`` -> two; ``§1.3-1.6`` -> four sections."""
    if last is None:
        return [first]
    head, _, low = first.rpartition(".")
    last_head, _, high = last.rpartition(".")
    if prefix == "§" and head != last_head:
        return [first, last]
    if not low.isdigit() or not high.isdigit() or int(high) < int(low):
        return [first, last]
    return [f"{head}.{n}" if head else str(n) for n in range(int(low), int(high) + 1)]


def defined_rules() -> set[str]:
    return {
        match.group(1)
        for line in RULES.read_text(encoding="utf-8").splitlines()
        if (match := DEFINED_RULE.match(line))
    }


@cache
def headings(doc: Path) -> frozenset[str]:
    return frozenset(
        match.group(1)
        for line in doc.read_text(encoding="utf-8").splitlines()
        if (match := HEADING.match(line))
    )


def _resolve(name: str) -> Path | None:
    """The file a ``<name>.md`` citation means: a path from the root, or a page of docs/
    (any case: ``STYLE.md`` is docs/style.md), or a file at the root (README.md)."""
    if "/" in name:
        path = ROOT / f"{name}.md"
        return path if path.is_file() else None
    for folder in (DOCS, ROOT):
        for candidate in folder.glob("*.md"):
            if candidate.stem.lower() == name.lower():
                return candidate
    return None


def test_docs_pages_exist() -> None:
    for name in ("rules", "whmcs", "messaging", "architecture", "style"):
        assert (DOCS / f"{name}.md").is_file(), f"docs/{name}.md is missing"


def test_every_cited_rule_is_on_the_rules_page() -> None:
    known = defined_rules()
    problems = []
    for where, number, line in _lines():
        for match in RULE.finditer(line):
            family, first, joiner, last = match.groups()
            numbers = [first, last] if joiner == "/" else _expand("R", first, last)
            problems += [
                f"{where}:{number}: cites R-{family}-{n}, which docs/rules.md does not define"
                for n in numbers
                if f"R-{family}-{n}" not in known
            ]
    assert not problems, "\n".join(problems)


def test_every_cited_section_is_a_heading_of_a_file_in_the_repository() -> None:
    problems = []
    for where, number, raw in _lines():
        line = URL.sub("", raw)
        doc: Path | None = DEFAULT_DOC
        cited = "whmcs.md"
        for match in CITATION.finditer(line):
            if match.group("doc") or match.group("bare"):
                cited = (match.group("doc") or match.group("bare")) + ".md"
                doc = _resolve(cited[:-3])
                if doc is None:
                    problems.append(f"{where}:{number}: cites {cited}, not in the repository")
            elif match.group("reference"):
                doc, cited = DEFAULT_DOC, "whmcs.md"
            elif doc is not None:
                sections = _expand("§", match.group("first"), match.group("last"))
                problems += [
                    f"{where}:{number}: cites {cited} §{section}, "
                    f"not a heading of {doc.relative_to(ROOT).as_posix()}"
                    for section in sections
                    if section not in headings(doc)
                ]
    assert not problems, "\n".join(problems)


def test_each_rule_names_the_plugin_and_the_settings_that_carry_it() -> None:
    """Every rule entry of docs/rules.md says ``Plugin: `<name>`'' (a folder of plugins/) and
    ``Settings:``."""
    plugins = {path.name for path in (ROOT / "plugins").iterdir() if path.is_dir()}
    entries: dict[str, str] = {}
    current = None
    for line in RULES.read_text(encoding="utf-8").splitlines():
        match = DEFINED_RULE.match(line)
        if match:
            current = match.group(1)
            entries[current] = line
        elif current and line.startswith("  "):
            entries[current] += " " + line.strip()
        else:
            current = None
    problems = []
    for rule, text in entries.items():
        named = re.search(r"Plugin: `(\w+)`", text)
        if named is None or named.group(1) not in plugins:
            problems.append(f"{rule}: no 'Plugin: `<name>`' naming a folder of plugins/")
        if "Settings:" not in text:
            problems.append(f"{rule}: no 'Settings:'")
    assert len(entries) >= 30
    assert not problems, "\n".join(problems)


def test_the_whmcs_notes_cover_every_section_plugins_cite() -> None:
    """Sections 1-6 of docs/whmcs.md stay whole, so a new plugin finds the one it needs."""
    expected = {
        "1": 22, "2": 2, "3": 6, "4": 4, "5": 4, "6": 3,
    }  # fmt: skip
    wanted = {f"{part}.{n}" for part, count in expected.items() for n in range(1, count + 1)}
    wanted |= set(expected) | {"1.0", "4.2.1"}
    assert sorted(wanted - headings(DEFAULT_DOC)) == []
