"""The Dagster-free engine: converters, renderers, signals, isolation. Importable and testable alone."""
