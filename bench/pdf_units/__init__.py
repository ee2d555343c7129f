"""olmOCR-bench-style unit tests for PDF to Markdown: test documents, cases and their scorer.

``cases.jsonl`` holds the tests as data (one JSON object a line): ``present`` (a text is in the
Markdown), ``absent`` (a running header, footer, page number or URL is not), ``order`` (text A comes
before text B) and ``table`` (a table cell has the given neighbours). Each names its document as
``bench/demo1.pdf#5`` (page 5 of a corpus PDF, cut out as a one-page document, the way olmOCR-bench
tests single pages), ``pdf/multi_page.pdf`` (a whole corpus PDF) or ``generated/NAME.pdf`` (built by
:mod:`bench.pdf_units.docs`). :mod:`bench.pdf_units.score` runs them on Markdown; the bench section
``python3 -m bench --only units`` compares converters and ``tests/test_pdf_units.py`` holds ours to a floor.
"""
