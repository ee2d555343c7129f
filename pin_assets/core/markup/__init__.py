"""Markup helpers shared by every converter that walks a tree: safe XML parsing, HTML tree edits, references
to files beside a document, formulas as LaTeX, and source text written into Markdown safely."""
