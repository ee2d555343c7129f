"""Web pages to Markdown: pages per second and snippet F1, this project against trafilatura, same run.

    python3 -m bench.web [CORPUS_WEB_DIR]

Uses ``corpus/web`` (250 real pages with ``evaldata.json``) and the scorer's rules (``tools/score_web.py``:
snippets that must / must not appear, Markdown marks removed). trafilatura runs as a user would call it for
Markdown with images, tables and formatting.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import trafilatura

from pin_assets.core.document import ConversionError
from pin_assets.core.html.markdown import html_to_markdown

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "web"


def _text(md: str) -> str:
    md = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", md)
    md = re.sub(r"\[([^\]]*)\]\(([^)]*)\)", r"\1 \2", md)
    md = re.sub(r"<[^>]+>", " ", md)
    md = re.sub(r"(\*\*|__|\*|_|`|~~)", "", md)
    md = re.sub(r"^\s{0,3}(#{1,6}|>|[-+*]|\d+[.)])\s+", "", md, flags=re.M)
    return " ".join(md.replace("|", " ").replace("\u00a0", " ").split())


def _ours(data: bytes, url: str) -> str | None:
    try:
        return html_to_markdown(data).markdown
    except ConversionError:
        return None


def _trafilatura(data: bytes, url: str) -> str | None:
    return trafilatura.extract(data, url=url, output_format="markdown", include_images=True,
                               include_tables=True, include_formatting=True)


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    evaldata = json.loads((corpus / "evaldata.json").read_text(encoding="utf-8"))
    pages = [(url, item, (corpus / "pages" / item["file"]).read_bytes()) for url, item in evaldata.items()]
    print("| converter | pages/s | precision | recall | F1 | pages without output |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, convert in (("pin-factory", _ours), ("trafilatura", _trafilatura)):
        tp = fn = fp = lost = 0
        start = time.perf_counter()
        outputs = [convert(data, url) for url, _, data in pages]
        seconds = time.perf_counter() - start
        for (_, item, _), md in zip(pages, outputs, strict=True):
            text = _text(md) if md else ""
            lost += not md
            found = [" ".join(s.split()) in text for s in item.get("with", [])]
            tp += sum(found)
            fn += len(found) - sum(found)
            fp += sum(" ".join(s.split()) in text for s in item.get("without", []))
        p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
        f1 = 2 * p * r / max(1e-9, p + r)
        print(f"| {name} | {len(pages) / seconds:.1f} | {p:.3f} | {r:.3f} | {f1:.3f} | {lost} |")


if __name__ == "__main__":
    main()
