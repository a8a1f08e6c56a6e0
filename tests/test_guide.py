"""The reading guide (docs/guide.zh-CN.md, docs/guide.md) stays true: every file, function, make target and
README anchor it names exists, every section it lists is a heading of the chapter it cites (in the chapter's
own words), every section of chapter 004 from §3 on and every code block of chapters 000-003 has its entry, and
the two languages list the same entries with the same links."""

import os
import re
from pathlib import Path

import pytest
from conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
GUIDES = {"zh": DOCS / "guide.zh-CN.md", "en": DOCS / "guide.md"}
CHAPTERS = Path(os.environ.get("RNN_EXAMPLES_CHAPTERS", REPO_ROOT.parent / "shared" / "chapters"))
LABELS = {  # the fields of an entry, in each language
    "zh": {"code": "代码：", "run": "运行：", "see": "会看到：", "none": "无代码："},
    "en": {"code": "Code:", "run": "Run:", "see": "You will see:", "none": "No code:"},
}
ENTRY = re.compile(r"^### (\d{3}-[0-9.]+b?) · (.+)$")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`]+)`")
HEADING = re.compile(r"^(#+)\s*(\d+(?:\.\d+)*)\.?\s*(.*?)\s*$")


def entries(language):
    """{key: (title, [lines of the entry])} in the guide's order."""
    found, key = {}, None
    for line in GUIDES[language].read_text(encoding="utf-8").splitlines():
        match = ENTRY.match(line)
        if match:
            key = match.group(1)
            assert key not in found, f"{GUIDES[language].name}: {key} listed twice"
            found[key] = (match.group(2), [])
        elif line.startswith("#"):
            key = None
        elif key:
            found[key][1].append(line)
    return found


def outside_code_blocks(lines):
    """(line, in a code block?) for each line: `#` lines inside ``` blocks are comments, not headings."""
    inside = False
    for line in lines:
        if line.startswith("```"):
            inside = not inside
            yield line, True
        else:
            yield line, inside


def chapter_sections(path):
    """{key: (level, heading as written, without the #s)} of a chapter file, and the keys of the sections that
    hold a code block. Keys are CHAPTER-NUMBER; a number used twice (chapter 000 has two sections "4.") gets "b"
    the second time. Unnumbered headings (a title) are not sections."""
    chapter = path.name[:3]
    sections, with_code, current = {}, set(), None
    for line, in_block in outside_code_blocks(path.read_text(encoding="utf-8").splitlines()):
        if in_block:
            if line.startswith("```") and current:
                with_code.add(current)
            continue
        match = HEADING.match(line)
        if not match:
            continue
        key = f"{chapter}-{match.group(2)}"
        if key in sections:
            key += "b"
        current = key
        sections[key] = (len(match.group(1)), line.lstrip("#").strip())
    return sections, with_code


def all_chapter_sections():
    if not CHAPTERS.is_dir():
        pytest.skip(f"the chapters are not at {CHAPTERS} (../shared/chapters)")
    sections, with_code = {}, set()
    for path in sorted(CHAPTERS.glob("00[0-4]_*.txt")):
        found, code = chapter_sections(path)
        sections.update(found)
        with_code |= code
    assert len({key[:3] for key in sections}) == 5, f"expected chapters 000-004 in {CHAPTERS}"
    return sections, with_code


def field(lines, label):
    return [line.split(label, 1)[1] for line in lines if line.startswith(f"- {label}")]


def makefile_targets():
    text = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", text, flags=re.MULTILINE))
    examples = re.search(r"^EXAMPLES\s*:=\s*(.+)$", text, flags=re.MULTILINE).group(1).split()
    return targets | {f"{kind}-{name}" for kind in ("example", "smoke") for name in examples}


def github_anchors(markdown_path):
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line, in_block in outside_code_blocks(markdown_path.read_text(encoding="utf-8").splitlines()):
        if not in_block and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def defined_in(path, name):
    """Whether `name` (a function, class or constant; Class.method too) is defined in the Python file."""
    text = path.read_text(encoding="utf-8")
    return all(
        re.search(rf"^\s*(?:def|class)\s+{re.escape(part)}\b|^{re.escape(part)}\s*=", text, flags=re.MULTILINE)
        for part in name.split(".")
    )


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_link_file_function_and_command_the_guide_names_exists(language):
    labels, targets, problems = LABELS[language], makefile_targets(), []
    for key, (_, lines) in entries(language).items():
        for line in lines:
            for target in LINK.findall(line):
                path, _, anchor = target.partition("#")
                resolved = (DOCS / path).resolve() if path else GUIDES[language]
                if not resolved.exists():
                    problems.append(f"{key}: {target} does not exist")
                elif anchor and anchor not in github_anchors(resolved):
                    problems.append(f"{key}: no heading in {path} has the anchor #{anchor}")
        for code in field(lines, labels["code"]):
            for part in re.split(r"[；;]", code):
                links = LINK.findall(part)
                assert len(links) == 1, f"{key}: each ;-separated part of the code line names one file: {part}"
                path = (DOCS / links[0]).resolve()
                for name in CODE_SPAN.findall(part.split(")", 1)[1]):
                    if path.suffix == ".py" and not defined_in(path, name):
                        problems.append(f"{key}: {name} is not defined in {links[0]}")
        for run in field(lines, labels["run"]):
            for command in CODE_SPAN.findall(run):
                words = [word for word in command.split() if "=" not in word or word.startswith("-")]
                if words[0] == "make" and words[1] not in targets:
                    problems.append(f"{key}: make {words[1]} is not a Makefile target")
                if words[0] == "python" and not (REPO_ROOT / words[1]).exists():
                    problems.append(f"{key}: {words[1]} does not exist")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_entry_has_code_and_a_command_or_says_why_not(language):
    labels = LABELS[language]
    for key, (_, lines) in entries(language).items():
        if field(lines, labels["none"]):
            continue
        assert field(lines, labels["code"]), f"{key}: neither code nor a reason why there is none"
        commands = [c for run in field(lines, labels["run"]) for c in CODE_SPAN.findall(run)]
        assert any(c.split()[0] in ("make", "python") or "python" in c for c in commands), f"{key}: no command"
        assert field(lines, labels["see"]), f"{key}: says nothing of what the reader will see"


def test_both_languages_list_the_same_entries_with_the_same_links():
    chinese, english = entries("zh"), entries("en")
    assert list(chinese) == list(english)
    for key in chinese:
        links = [LINK.findall("\n".join(entries_of[key][1])) for entries_of in (chinese, english)]
        assert links[0] == links[1], f"{key}: the two languages link to different places"


def test_numbers_are_linked_not_copied():
    """Measured results live in results/ and the generated tables; a guide that copied them would go stale."""
    for path in GUIDES.values():
        text = path.read_text(encoding="utf-8").replace("Python 3.11", "Python")  # a version, not a result
        copied = re.findall(r"(?<![\w.§-])\d+\.\d{2,}\b", text)
        assert not copied, f"{path.name} copies measured numbers {copied}: link to the table instead"


def test_the_sections_are_the_chapters_headings_in_their_own_words():
    sections, _ = all_chapter_sections()
    for key, (title, _) in entries("zh").items():
        assert key in sections, f"{key} is not a numbered section of chapter {key[:3]}"
        assert title == sections[key][1], f"{key}: the chapter's heading is {sections[key][1]!r}"
    for key, (title, _) in entries("en").items():
        assert sections[key][1] in title, f"{key}: the English title should quote the chapter's {sections[key][1]!r}"


def test_every_section_of_004_from_3_on_and_every_code_block_of_000_to_003_has_an_entry():
    sections, with_code = all_chapter_sections()
    listed = set(entries("zh"))
    wanted = {key for key, (level, _) in sections.items() if key.startswith("004-") and level in (3, 4)}
    wanted = {key for key in wanted if int(key[4:].split(".")[0]) >= 3}
    assert len(wanted) == 70  # what chapter 004 has today: a change in the chapters should be looked at
    assert not wanted - listed, f"sections of chapter 004 without an entry: {sorted(wanted - listed)}"
    code = {key for key in with_code if key[:3] in ("000", "001", "002", "003")}
    assert len(code) == 7
    assert not code - listed, f"code blocks without an entry: {sorted(code - listed)}"


def test_the_chapter_reader_handles_the_chapters_quirks(tmp_path):
    """`#` lines in code blocks are comments; a number used twice gets "b"; single-# headings count; a title
    without a number is not a section."""
    text = "# A title\n# 1.背景\n## 4.模型\n```python\n# 加载数据集\nx = 1\n```\n## 4.项目实践\n### 4.1 代码  \n"
    (tmp_path / "009_x.txt").write_text(text, encoding="utf-8")
    sections, with_code = chapter_sections(tmp_path / "009_x.txt")
    assert sections == {
        "009-1": (1, "1.背景"),
        "009-4": (2, "4.模型"),
        "009-4b": (2, "4.项目实践"),
        "009-4.1": (3, "4.1 代码"),
    }
    assert with_code == {"009-4"}


def test_the_readme_opens_with_the_guide():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert LINK.findall(readme)[:2] == ["docs/guide.zh-CN.md", "docs/guide.md"]
