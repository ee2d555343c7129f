"""Inline text of a block: rows joined across line ends (hyphenation repaired, no spaces inside CJK),
emphasis and code markers, and escaping so plain text is not read as Markdown syntax.

Emphasis follows words, not spans. PDFs switch fonts mid-word (a bold-italic "Abstract" run straight
into a bold dash, a hyphenated word whose halves sit on two lines), and marking each span gives
``***Abstract*****—Stereo``, which CommonMark reads as literal asterisks. So styles are decided per
word (a word is emphasized only as far as all its letters are), neighbouring words of one style form
a run, and markers open and close only at spaces, nested bold outside italic or the other way round,
whichever lasts longer. Every marker then stands between a space and a word character, where
CommonMark always reads it as emphasis.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pin_assets.core.markup.math import script_text
from pin_assets.core.pdf.cjk import CJK_LETTER, tight
from pin_assets.core.pdf.model import Row, Span, Style

_HYPHENS = "-\u2010\u00ad"
_MARKS = {"b": "**", "i": "*"}
_HYPHEN_MARK_RE = re.compile(f"[{_HYPHENS}]\\s*\x00")  # a line-end hyphen and the mark saying it goes
# Words: runs of non-space characters, except that each Han or kana character is a word of its own,
# CJK being written without spaces.
_WORD_RE = re.compile(f"{CJK_LETTER}|(?:(?!{CJK_LETTER})\\S)+")
_Segment = tuple[str, bool, bool, bool, bool]  # text, bold, italic, mono, neutral (takes no part in style)


def plain_text(rows: list[Row], style: Style) -> str:
    """Row text joined across line ends, without emphasis markers."""
    text = "".join(seg[0] for seg in _joined_segments(rows, style))
    return _tags(_HYPHEN_MARK_RE.sub("", text).replace("\x00", ""))


def inline_text(rows: list[Row], style: Style) -> str:
    """Row text joined across line ends with **bold**, *italic* and `code` runs."""
    segments = _unhyphenate(list(_joined_segments(rows, style)))
    styled = {seg[1:4] for seg in segments if not seg[4]}
    if len(styled) <= 1:  # one style throughout: the common case, no word-level work
        text = "".join(seg[0] for seg in segments)
        bold, italic, mono = styled.pop() if styled else (False, False, False)
        return _tags(_render([(text.strip(), (bold, italic, mono), "")]))
    return _tags(_render(_word_runs(segments)))


def _joined_segments(rows: list[Row], style: Style) -> Iterator[_Segment]:
    """Span texts with styles, joining rows with a space or, for a word hyphenated at the line end,
    with nothing (keeping the hyphen when the document spells the word with one elsewhere)."""
    previous = ""
    for i, row in enumerate(rows):
        spans = [s for s in row.spans if s.text]
        if i:
            joiner, drop = line_join(previous, row.text.lstrip(), style)
            if drop:
                yield "\x00", False, False, False, True  # marks the hyphen to remove
            if joiner:
                yield joiner, False, False, False, True
        for j, span in enumerate(spans):
            text = span.text.lstrip() if j == 0 else span.text
            text = text.rstrip() if j == len(spans) - 1 else text
            if span.script and text.strip():
                yield _scripted(text, "sup" if span.superscript else "sub"), False, False, False, True
                continue
            plain = not re.search(r"[^\W\d_]", text)
            yield text, span.bold, span.italic, span.mono, plain
        previous = row.text.rstrip()


# Stand-ins for <sup>, </sup>, <sub>, </sub> while text is escaped (MuPDF's text never holds them: see
# glyphs.LIGATURES); :func:`_tags` writes the tags last.
_SCRIPT_MARKS = {"sup": ("\x01", "\x02"), "sub": ("\x03", "\x04")}
_TAGS = str.maketrans({"\x01": "<sup>", "\x02": "</sup>", "\x03": "<sub>", "\x04": "</sub>"})


def _scripted(text: str, tag: str) -> str:
    """A superscript or subscript run as the project writes them everywhere (see ``markup.math``): Unicode
    script characters when each character has one (m², CO₂, a footnote mark ¹), else ``<sup>``/``<sub>``
    HTML, here as stand-ins that survive escaping."""
    written = script_text(tag, text)
    if not written.startswith(f"<{tag}>"):
        return written
    open_mark, close_mark = _SCRIPT_MARKS[tag]
    return f"{open_mark}{text.strip()}{close_mark}"


def span_text(span: Span) -> str:
    """One span's text as written (a superscript or subscript as :func:`_scripted` writes it): for table
    cells, which are built from spans without the paragraph writer."""
    return _tags(_scripted(span.text, "sup" if span.superscript else "sub")) if span.script else span.text


def _tags(text: str) -> str:
    """The stand-ins as HTML tags; touching runs of one kind merge (``<sup>a</sup><sup>b</sup>``)."""
    return text.replace("\x02\x01", "").replace("\x04\x03", "").translate(_TAGS)


def line_join(previous: str, following: str, style: Style) -> tuple[str, bool]:
    """How to join two lines: the separator and whether the trailing hyphen must go."""
    if tight(previous, following):
        return "", False
    match = re.search(r"(\w+)[" + _HYPHENS + r"]$", previous)
    nxt = re.match(r"\w+", following)
    if not match or not nxt:
        return " ", False
    if previous.endswith("\u00ad") or (
        nxt.group(0)[0].islower() and f"{match.group(1)}-{nxt.group(0)}".lower() not in style.hyphenated
    ):
        return "", True
    return "", False


def _unhyphenate(segments: list[_Segment]) -> list[_Segment]:
    """Drop each removal mark and the hyphen before it; for plain text, one segment of all the text."""
    out: list[_Segment] = []
    for seg in segments:
        if seg[0] == "\x00":
            for k in range(len(out) - 1, -1, -1):
                text = out[k][0].rstrip()
                if text:
                    if text[-1] in _HYPHENS:
                        out[k] = (text[:-1], *out[k][1:])
                    break
                out[k] = ("", *out[k][1:])
            continue
        out.append(seg)
    if all(seg[4] and not any(seg[1:4]) for seg in out):
        return [("".join(seg[0] for seg in out), False, False, False, True)]
    return out


def _word_runs(segments: list[_Segment]) -> list[tuple[str, tuple[bool, bool, bool], str]]:
    """(text, style, following whitespace) runs of whole words.

    A word is bold (italic, code) when all its letters and digits are; punctuation before or after
    them keeps its own style when that makes valid Markdown (``**Laboratories**:``); words without
    letters or digits (dashes, footnote marks) join the run around them.
    """
    text = "".join(seg[0] for seg in segments)
    owner: list[int] = []
    for index, seg in enumerate(segments):
        owner.extend([index] * len(seg[0]))
    pieces: list[tuple[str, tuple[bool, bool, bool] | None, str]] = []
    for match in _WORD_RE.finditer(text):
        start, end = match.span()
        tail = re.match(r"\s*", text[end:]).group(0)
        core = [k for k in range(start, end) if text[k].isalnum() and not segments[owner[k]][4]]
        if not core:
            pieces.append((match.group(0), None, tail))
            continue
        style = _shared(segments, owner, core)
        first, last = core[0], core[-1] + 1
        while first > start and _same(segments, owner, first - 1, style):
            first -= 1
        while last < end and _same(segments, owner, last, style):
            last += 1
        if start < first:
            pieces.append((text[start:first], _shared(segments, owner, range(start, first)), ""))
        if last < end:
            pieces.append((text[first:last], style, ""))
            pieces.append((text[last:end], _shared(segments, owner, range(last, end)), tail))
        else:
            pieces.append((text[first:end], style, tail))
    resolved = _attached(pieces, _resolve_neutral([p[1] for p in pieces]))
    runs: list[tuple[str, tuple[bool, bool, bool], str]] = []
    for (word, _, tail), style in zip(pieces, resolved, strict=True):
        if runs and runs[-1][1] == style:
            runs[-1] = (runs[-1][0] + runs[-1][2] + word, style, tail)
        else:
            runs.append((word, style, tail))
    return runs


def _shared(segments: list[_Segment], owner: list[int], positions: object) -> tuple[bool, bool, bool] | None:
    """The style all the styled characters at ``positions`` have (None when none is styled)."""
    styles = {segments[owner[k]][1:4] for k in positions if not segments[owner[k]][4]}
    return tuple(all(s[n] for s in styles) for n in range(3)) if styles else None


def _same(segments: list[_Segment], owner: list[int], k: int, style: tuple[bool, bool, bool]) -> bool:
    """Whether the character at ``k`` goes with a word of ``style``: it has that style, or none."""
    return segments[owner[k]][4] or segments[owner[k]][1:4] == style


def _resolve_neutral(styles: list[tuple[bool, bool, bool] | None]) -> list[tuple[bool, bool, bool]]:
    """Words without letters take what the lettered words on both sides share."""
    plain = (False, False, False)
    out: list[tuple[bool, bool, bool]] = []
    for k, style in enumerate(styles):
        if style is not None:
            out.append(style)
            continue
        before = next((s for s in reversed(styles[:k]) if s is not None), None)
        after = next((s for s in styles[k + 1:] if s is not None), None)
        before, after = before or after or plain, after or before or plain
        out.append(tuple(a and b for a, b in zip(before, after, strict=True)))
    return out


def _attached(words: list[tuple[str, object, str]], styles: list[tuple[bool, bool, bool]],
              ) -> list[tuple[bool, bool, bool]]:
    """Where two words touch (CJK, or punctuation split off a word), a style change is kept only if
    CommonMark reads its markers as emphasis: markers that only close need no punctuation before a
    letter (``**Laboratories**:``), markers that open need punctuation before and a letter after
    (``(**see``), so that they cannot close anything; a change that both closes and opens, or any
    code, is dropped. Dropped changes give both sides the style they share."""
    changed = True
    while changed:  # each change only clears style bits, so this ends
        changed = False
        for k in range(len(words) - 1):
            if words[k][2] or styles[k] == styles[k + 1]:
                continue
            left, right = words[k][0][-1], words[k + 1][0][0]
            before, after = _wanted(styles[k]), _wanted(styles[k + 1])
            if styles[k][2] or styles[k + 1][2] or (before and after):
                valid = False
            elif after:
                valid = not left.isalnum() and right.isalnum()
            else:
                valid = left.isalnum() or not right.isalnum()
            if not valid:
                shared = tuple(a and b for a, b in zip(styles[k], styles[k + 1], strict=True))
                styles[k] = styles[k + 1] = shared
                changed = True
    return styles


def _render(runs: list[tuple[str, tuple[bool, bool, bool], str]]) -> str:
    """Markdown of styled runs, markers opened and closed as a stack at the spaces between runs."""
    wanted = [_wanted(style) for _, style, _ in runs]
    stack: list[str] = []
    parts: list[str] = []
    for k, (text, style, tail) in enumerate(runs):
        bold, italic, mono = style
        if mono and not (bold or italic):
            tick = "``" if "`" in text else "`"
            parts.append(f"{tick}{text}{tick}{tail}")
            continue
        opening = sorted(wanted[k] - set(stack), key=lambda m: -_extent(wanted, k, m))
        stack.extend(opening)
        parts.append("".join(_MARKS[m] for m in opening) + escape_text(text))
        following = wanted[k + 1] if k + 1 < len(runs) else set()
        lowest = next((j for j, m in enumerate(stack) if m not in following), len(stack))
        parts.append("".join(_MARKS[m] for m in reversed(stack[lowest:])) + tail)
        del stack[lowest:]
    return "".join(parts).strip()


def _wanted(style: tuple[bool, bool, bool]) -> set[str]:
    """The emphasis markers a style needs (code is rendered on its own, outside emphasis)."""
    bold, italic, mono = style
    return {m for m, on in (("b", bold), ("i", italic)) if on}


def _extent(wanted: list[set[str]], start: int, mark: str) -> int:
    """How many runs from ``start`` on keep a marker: the longer-lasting one opens outside."""
    count = 0
    for marks in wanted[start:]:
        if mark not in marks:
            break
        count += 1
    return count


def escape_text(text: str) -> str:
    """Escape characters that would turn plain text into emphasis, code or raw HTML."""
    text = re.sub(r"([\\`*_])", r"\\\1", text)
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def escape_start(text: str) -> str:
    """Keep a paragraph that begins like a heading, quote or list item from being read as one (an
    ordered-list start is escaped at its delimiter: ``1\\.``, as a backslash before a digit is literal)."""
    number = re.match(r"\d{1,9}(?=[.)](\s|$))", text)
    if number:
        return f"{number.group(0)}\\{text[number.end():]}"
    return re.sub(r"^([#>+]|[-*](?=\s|$))", r"\\\1", text)
