"""arXiv e-prints (and any LaTeX source) to Markdown with exact TeX math, figures and structure.

PIN's scientific subsets are arXiv and PMC; through the PDF path a paper's formulas are loose glyphs, while
its source has them as TeX. This package reads the source as arXiv stores it and converts it the way arXiv
makes its own HTML papers, with LaTeXML, then through the project's shared HTML body converter. One module per
concern, no Dagster:

* ``archive``: the e-print's files out of a gzipped tar, a gzipped single file, a tar, a zip or a plain file,
  with caps against bombs and names kept inside the e-print; recognising an e-print by its content;
* ``mainfile``: the main file as arXiv's AutoTeX chooses it, and the files it ``\\input``s;
* ``bundle``: an unpacked source folder made one e-print (its main file and the files it uses);
* ``bulk``: arXiv's bulk source tars, one document per e-print;
* ``engines``: LaTeXML, pandoc and Ghostscript as fenced, bounded child processes (work budget, file fence,
  memory, CPU and wall-clock limits), with ``latexml/`` holding the Perl guard and the XSLT they need;
* ``figures``: figure files found as LaTeX finds them and converted to PNG;
* ``markdown``: LaTeXML's (or pandoc's) HTML to Markdown: display math, theorems, footnotes, figures, lists,
  references;
* ``convert``: the whole conversion with its fallbacks (LaTeXML, pandoc, the paper's PDF) and the record's
  metadata; ``convert_eprint`` is the ``arxiv`` kind's converter in :mod:`pin_assets.core.kinds`.
"""
