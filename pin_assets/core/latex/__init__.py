"""arXiv e-prints from their LaTeX source (see convert.py)."""
