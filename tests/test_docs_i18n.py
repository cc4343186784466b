"""The Simplified Chinese docs stay in step with the English ones they translate.

README.zh-CN.md, docs/api.zh-CN.md and miniprogram/README.zh-CN.md: each pair links to the other
on its first line, keeps the same links, headings and (untranslated) code blocks, and the
measured figures in the README's tables are identical, row by row, in both languages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (English, Simplified Chinese), relative to the repository root.
PAIRS = [
    ("README.md", "README.zh-CN.md"),
    ("docs/api.md", "docs/api.zh-CN.md"),
    ("miniprogram/README.md", "miniprogram/README.zh-CN.md"),
]
PAIR_IDS = [english for english, _ in PAIRS]

# A figure: a number with a decimal point and/or a % sign ("17.0", "1.42x", "99.10%", "~86%",
# "0%"). Not glued to a preceding ASCII letter, digit or dot, so "FAR1e-2" or "v1.2" parts are not
# figures; CJK text right before a figure is fine.
FIGURE = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:,\d{3})*(?:\.\d+%?|%)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = "```"


def _read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def _lines(text: str) -> list[tuple[int, str, bool]]:
    """(offset, line, inside a fenced code block) for every line; fence lines count as inside."""
    lines: list[tuple[int, str, bool]] = []
    in_code = False
    offset = 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        fence = line.lstrip().startswith(FENCE)
        if fence:
            in_code = not in_code
        lines.append((offset, line, in_code or fence))
        offset += len(raw)
    return lines


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    return [line for _, line, code in _lines(text) if not code]


def _code_blocks(text: str) -> list[str]:
    """Each fenced code block (fence lines included), in order."""
    blocks: list[str] = []
    current: list[str] = []
    for _, line, code in _lines(text):
        if code:
            current.append(line)
            if len(current) > 1 and line.lstrip().startswith(FENCE):
                blocks.append("\n".join(current))
                current = []
    return blocks


def _tables(text: str) -> list[list[tuple[int, str]]]:
    """The markdown tables outside code blocks: each a list of (offset, row line)."""
    tables: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for offset, line, code in [*_lines(text), (len(text), "", False)]:
        if not code and line.lstrip().startswith("|"):
            current.append((offset, line))
        elif current:
            tables.append(current)
            current = []
    return tables


def _table_figures(text: str) -> list[list[list[str]]]:
    """Per table, per row, the figures in the order they appear."""
    return [[FIGURE.findall(row) for _, row in table] for table in _tables(text)]


def table_figure_problems(english: str, chinese: str) -> list[str]:
    """Every way the READMEs disagree on the figures of the English tables; empty if none."""
    english_figures = _table_figures(english)
    chinese_figures = _table_figures(chinese)
    in_chinese = set(FIGURE.findall(chinese))
    problems = [
        f"{figure} (English table) appears nowhere in the Chinese README"
        for figure in sorted({f for table in english_figures for row in table for f in row})
        if figure not in in_chinese
    ]
    if len(english_figures) != len(chinese_figures):
        problems.append(
            f"{len(english_figures)} tables in English, {len(chinese_figures)} in Chinese"
        )
    english_rows = [[row for _, row in table] for table in _tables(english)]
    for number, (en_table, zh_table) in enumerate(
        zip(english_figures, chinese_figures, strict=False), start=1
    ):
        if len(en_table) != len(zh_table):
            problems.append(
                f"table {number}: {len(en_table)} rows in English, {len(zh_table)} in Chinese"
            )
            continue
        for row, (en_row, zh_row) in enumerate(zip(en_table, zh_table, strict=True)):
            if en_row != zh_row:
                problems.append(
                    f"table {number} row {row + 1} ({english_rows[number - 1][row][:50]}...): "
                    f"English {en_row} != Chinese {zh_row}"
                )
    return problems


@pytest.mark.parametrize(("english", "chinese"), PAIRS, ids=PAIR_IDS)
def test_chinese_translation_exists(english: str, chinese: str) -> None:
    assert (ROOT / english).is_file(), english
    assert (ROOT / chinese).is_file(), f"{chinese} (the Simplified Chinese {english}) is missing"
    assert re.search(r"[\u4e00-\u9fff]", _read(chinese)), f"{chinese} has no Chinese text"


@pytest.mark.parametrize(("english", "chinese"), PAIRS, ids=PAIR_IDS)
def test_pair_links_to_each_other_on_the_first_line(english: str, chinese: str) -> None:
    english_name, chinese_name = Path(english).name, Path(chinese).name
    assert _read(english).splitlines()[0] == f"English | [简体中文]({chinese_name})"
    assert _read(chinese).splitlines()[0] == f"[English]({english_name}) | 简体中文"


@pytest.mark.parametrize(("english", "chinese"), PAIRS, ids=PAIR_IDS)
def test_same_links_and_they_resolve(english: str, chinese: str) -> None:
    def links(relative: str) -> set[str]:
        body = _prose_lines(_read(relative))[1:]  # the language switch differs by design
        # A Chinese page may link to a translated page (or a screenshot of the Chinese UI)
        # instead of its English original.
        found = LINK.findall("\n".join(body))
        return {t.replace(".zh-CN.md", ".md").replace("-zh.png", "-en.png") for t in found}

    assert links(chinese) == links(english)
    for target in links(chinese):
        if "://" not in target:
            path = target.split("#", 1)[0]
            assert (ROOT / chinese).parent.joinpath(path).exists(), f"{chinese}: {target}"


@pytest.mark.parametrize(("english", "chinese"), PAIRS, ids=PAIR_IDS)
def test_same_structure_and_untranslated_code(english: str, chinese: str) -> None:
    def headings(relative: str) -> list[str]:
        return [
            line.split(" ", 1)[0] for line in _prose_lines(_read(relative)) if line.startswith("#")
        ]

    assert headings(chinese) == headings(english), "same heading levels in the same order"
    assert _code_blocks(_read(chinese)) == _code_blocks(_read(english)), (
        "code blocks (commands, env vars, paths) are copied verbatim into the translation"
    )


def test_chinese_readme_has_the_two_commands() -> None:
    readme = _read("README.zh-CN.md")
    assert "make run" in readme
    assert "make test" in readme


def test_readme_table_figures_match() -> None:
    english, chinese = _read("README.md"), _read("README.zh-CN.md")
    figures = [figure for table in _table_figures(english) for row in table for figure in row]
    assert len(figures) > 100, "the README's measured tables were not found"
    assert table_figure_problems(english, chinese) == []


def _bump(text: str, pick: str) -> str:
    """`text` with one table figure's last digit changed: the first, the last, or the last one
    whose value also appears earlier in the tables (so the old value is still in the file)."""
    spans = [
        (offset + match.start(), offset + match.end())
        for table in _tables(text)
        for offset, row in table
        for match in FIGURE.finditer(row)
    ]
    values = [text[start:end] for start, end in spans]
    if pick == "first":
        index = 0
    elif pick == "last":
        index = len(spans) - 1
    else:
        index = max(i for i, value in enumerate(values) if value in values[:i])
    start, end = spans[index]
    last = max(i for i in range(start, end) if text[i].isdigit())
    return text[:last] + str((int(text[last]) + 1) % 10) + text[last + 1 :]


@pytest.mark.parametrize("pick", ["first", "last", "repeated"])
@pytest.mark.parametrize("side", ["english", "chinese"])
def test_figure_check_catches_an_edit_to_one_file(side: str, pick: str) -> None:
    english, chinese = _read("README.md"), _read("README.zh-CN.md")
    if side == "english":
        english = _bump(english, pick)
    else:
        chinese = _bump(chinese, pick)
    assert table_figure_problems(english, chinese) != []
