"""JATS section titles at every depth become Markdown headings: nested sections, boxes, back matter
(acknowledgements, appendices, glossaries, titled parts of a reference list), abstracts and their
sections; figure and table captions stay paragraphs. Checked on a generated article that has each
construct and on the corpus articles, whose every ``<sec>`` title must come out as a heading."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from pin_assets.core.jats import jats_to_markdown
from tests.conftest import corpus_dir

ARTICLE = """<?xml version="1.0"?>
<article {ns} xmlns:xlink="http://www.w3.org/1999/xlink">
<front><article-meta><title-group><article-title>A <italic>Drosophila</italic> study</article-title></title-group>
<abstract><sec><title>Background</title><p>Why.</p></sec><sec><title>Methods</title><p>How.</p></sec></abstract>
<abstract abstract-type="executive-summary"><title>eLife digest</title><p>Plain words.</p></abstract>
</article-meta></front>
<body>
<sec><title>Introduction</title><p>Intro text.</p>
  <sec><label>1.1</label><title>Role of <italic>p53</italic> in <bold>cancer</bold></title><p>Deep.</p>
    <sec><title>Third level</title><p>x</p><sec><title>Fourth level</title><p>y</p></sec></sec>
  </sec>
  <boxed-text><caption><title>Box 1. Key terms</title><p>Box caption.</p></caption><p>Box body.</p></boxed-text>
  <boxed-text><sec><title>Boxed section</title><p>inside</p></sec></boxed-text>
  <fig id="f1"><label>Figure 1</label><caption><title>Fig title</title><p>Caption text.</p></caption></fig>
  <table-wrap><label>Table 1</label><caption><title>Table title</title></caption>
    <table><tr><td>a</td></tr></table></table-wrap>
</sec>
<ack><title>Funding note</title><p>Thanks in body.</p></ack>
</body>
<back>
<ack><p>We thank.</p></ack>
<app-group><app><title>Appendix A</title><sec><title>Appendix section</title><p>App text.</p></sec></app></app-group>
<glossary><title>Glossary</title><def-list><def-item><term>TE</term><def><p>transposable element</p></def></def-item>
</def-list></glossary>
<bio><p>Author bio.</p></bio>
<ref-list><title>References</title><ref-list><title>Primary sources</title>
<ref><mixed-citation>Doe J. 2020.</mixed-citation></ref></ref-list>
<ref><mixed-citation>Roe R. 2021.</mixed-citation></ref></ref-list>
</back></article>"""

EXPECTED = [
    "# A *Drosophila* study", "## Abstract", "### Background", "### Methods", "## eLife digest",
    "## Introduction", "### 1.1 Role of *p53* in cancer", "#### Third level", "##### Fourth level",
    "### Box 1. Key terms", "### Boxed section", "## Funding note", "## Acknowledgements", "## Appendix A",
    "### Appendix section", "## Glossary", "## References", "### Primary sources",
]


def _headings(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if re.match(r"#{1,6} ", line)]


@pytest.mark.parametrize("ns", ["", 'xmlns="http://jats.nlm.nih.gov/ns/archiving/1.3/"'])
def test_titles_at_every_depth_are_headings(ns: str):
    md = jats_to_markdown(ARTICLE.format(ns=ns).encode()).markdown
    assert _headings(md) == EXPECTED
    for kept in ("Box caption.", "Box body.", "Figure 1 Fig title Caption text.", "Table 1 Table title",
                 "Author bio.", "Doe J. 2020.", "Roe R. 2021.", "Thanks in body."):
        assert kept in md, kept


@pytest.mark.parametrize("name", ["elife-56337", "pone.0234687"])
def test_every_corpus_section_title_is_a_heading(name: str):
    path = corpus_dir("jats") / f"{name}.nxml"
    root = etree.parse(str(path)).getroot()
    titles = [" ".join("".join(t.itertext()).split()) for t in root.iter("title")
              if t.getparent().tag in {"sec", "ack", "app", "ref-list", "glossary", "fn-group", "boxed-text"}]
    assert len(titles) > 10
    headings = [re.sub(r"[*_]", "", h.lstrip("# ")) for h in _headings(jats_to_markdown(path.read_bytes()).markdown)]
    missing = [t for t in titles if not any(h.endswith(t) for h in headings)]
    assert not missing, missing
