"""PDF to Markdown: one module per concern over a shared page model (see `convert` for the passes)."""

from pin_assets.core.pdf.convert import pdf_to_markdown

__all__ = ["pdf_to_markdown"]
