"""Benchmarks of pin-factory: render, parse, end to end through Dagster, scaling, and stats.

Run ``python3 -m bench`` from the repository root; it prints one Markdown table and writes it, with the
machine description, to ``bench/RESULTS.md``. Each section lives in its own module so a reader can check
exactly what is timed; :mod:`bench.timing` holds the one repetition scheme they all share.
"""
