"""`pin`: convert single files, run batches through the Dagster job, and inspect what happened.

    pin demo                          materialize the bundled `sample` batch and print what it made
    pin convert INPUT... -o OUT       convert files without Dagster (same core code as the assets)
    pin batch add NAME SOURCE         register a folder (or file) as a new batch partition
    pin batch list                    list registered batches
    pin materialize BATCH             run the whole graph for one batch
    pin quarantine BATCH              list the documents a batch could not convert, with reasons
    pin quarantine BATCH --retry      after a fix, re-run parse and render for the quarantined documents only
    pin stats [--where SQL]           signal statistics over all batches, or how many a filter keeps
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

DEFAULT_DAGSTER_HOME = ".dagster_home"


def _instance():
    """The persistent Dagster instance the UI also reads (``$DAGSTER_HOME``, default ``./.dagster_home``)."""
    from dagster import DagsterInstance

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(DEFAULT_DAGSTER_HOME).resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # SQLite storage in DAGSTER_HOME; no telemetry calls from an offline tool
        config.write_text("telemetry:\n  enabled: false\n")
    return DagsterInstance.get()


def _storage():
    from resources import build_resources

    return build_resources()["storage"]


@click.group(help=__doc__)
def main() -> None:
    """Entry point of the `pin` console script."""


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--dpi", default=100, show_default=True, help="Resolution of overall images.")
@click.option("--format", "fmt", default="webp", show_default=True, type=click.Choice(["webp", "jpeg", "png"]))
@click.option("--source-dataset", default="local", show_default=True)
@click.option("--license", "license_", default="unknown", show_default=True)
def convert(
    inputs: tuple[Path, ...], out_dir: Path, dpi: int, fmt: str, source_dataset: str, license_: str
) -> None:
    """Write OUT/<stem>/<stem>.md, <stem>.json, content_image/ and overall_image/ for each input."""
    from pin_assets.core.document import ConversionError
    from pin_assets.core.render import RenderOptions
    from pin_assets.core.single import convert_file

    options = RenderOptions(dpi=dpi, fmt=fmt)
    failures = 0
    for path in inputs:
        started = time.perf_counter()
        try:
            record = convert_file(path, out_dir, options, source_dataset=source_dataset, license=license_)
        except ConversionError as exc:
            failures += 1
            click.echo(f"pin convert: {path}: {exc.reason}: {exc}", err=True)
            continue
        click.echo(
            f"{path} -> {out_dir / path.stem}/ ({len(record['overall_image'])} pages, "
            f"{len(record['content_image'])} images, {time.perf_counter() - started:.2f} s)"
        )
    if failures:
        click.echo(f"pin convert: {failures} of {len(inputs)} inputs failed", err=True)
        sys.exit(1)


@main.group()
def batch() -> None:
    """Register and list batches (dynamic partitions)."""


@batch.command("add")
@click.argument("name")
@click.argument("source")
@click.option("--dataset", "source_dataset", default=None, help="Source name in records (default: NAME).")
@click.option("--license", "license_", default="unknown", show_default=True)
def batch_add(name: str, source: str, source_dataset: str | None, license_: str) -> None:
    """Register SOURCE (a folder or file) as batch NAME; materialize it with `pin materialize NAME` or the UI."""
    from pin_assets.batches import BatchSpec, register_batch

    if "://" not in source:
        source = str(Path(source).resolve())
    spec = register_batch(
        _instance(), _storage(), BatchSpec(name, source, source_dataset or name, license_)
    )
    click.echo(f"registered batch {spec.name!r} from {spec.source_uri} (dataset {spec.source_dataset!r})")


@batch.command("list")
def batch_list() -> None:
    from pin_assets.partitions import batches

    for name in _instance().get_dynamic_partitions(batches.name):
        click.echo(name)


REALSYN_OPTION = click.option(
    "--realsyn/--no-realsyn",
    default=True,
    show_default=True,
    help="Also rebuild the corpus-wide RealSyn index, pairs and balanced shards (embeds every sentence).",
)


RETRY_STAGES = ("parsed_markdown", "page_renders")
# Everything pin_job makes after ingest: a retry redoes what the retried documents feed into.
RETRY_ASSETS = (*RETRY_STAGES, "quality_signals", "pin_records", "realsyn_corpus")

SET_OPTION = click.option(
    "--set", "settings", multiple=True, metavar="NAME=VALUE",
    help="Override a processing setting for this run, e.g. --set max_pages=5000 --set doc_timeout_s=300 "
         "(any ProcessingResource field: limits, workers, render options).",
)


def _processing_settings(pairs: tuple[str, ...]) -> dict[str, object]:
    """``NAME=VALUE`` pairs checked against ProcessingResource's fields and converted to their types.

    Limits are what a user changes before retrying a quarantined document, so they must be settable from
    the command line, not only from the UI's launchpad.
    """
    from resources.processing import ProcessingResource

    fields = ProcessingResource.model_fields
    settings: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in fields:
            raise click.BadParameter(f"{pair!r}: use NAME=VALUE with NAME one of {', '.join(sorted(fields))}",
                                     param_hint="--set")
        kind = fields[name].annotation
        try:
            settings[name] = kind(value) if kind in (int, float, str) else value
        except ValueError as exc:
            raise click.BadParameter(f"{pair!r}: {exc}", param_hint="--set") from exc
    return settings


@main.command()
@click.argument("batch_name")
@REALSYN_OPTION
@SET_OPTION
def materialize(batch_name: str, realsyn: bool, settings: tuple[str, ...]) -> None:
    """Run the whole asset graph for one registered batch and print what it made."""
    sys.exit(_run_batch(batch_name, realsyn=realsyn, settings=_processing_settings(settings)))


@main.command()
@REALSYN_OPTION
def demo(realsyn: bool) -> None:
    """Materialize the bundled `sample` batch (PDF, JATS, HTML) with local storage and print what it made."""
    from pin_assets.batches import SAMPLE_SPEC, register_batch

    register_batch(_instance(), _storage(), SAMPLE_SPEC)
    sys.exit(_run_batch(SAMPLE_SPEC.name, realsyn=realsyn))


def _run_batch(
    batch_name: str, *, realsyn: bool, retry: bool = False, settings: dict[str, object] | None = None
) -> int:
    """Run ``pin_job`` for one batch (from parse on, quarantined documents only, with ``retry``) and report."""
    from dagster import AssetKey

    from pin_assets import layout
    from pin_assets.accounting import account_batch
    from pin_assets.definitions import build_definitions
    from pin_assets.partitions import batches

    instance = _instance()
    if not instance.has_dynamic_partition(batches.name, batch_name):
        click.echo(f"pin: unknown batch {batch_name!r}; register it with `pin batch add`", err=True)
        return 2
    storage = _storage()
    defs = build_definitions()
    started = time.perf_counter()
    run_config: dict = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    if settings:
        run_config["resources"] = {"processing": {"config": settings}}
    if retry:
        run_config["ops"] = {name: {"config": {"retry_quarantined_only": True}} for name in RETRY_STAGES}
    result = defs.resolve_job_def("pin_job").execute_in_process(
        partition_key=batch_name,
        instance=instance,
        raise_on_error=False,
        run_config=run_config,
        asset_selection=[AssetKey(name) for name in RETRY_ASSETS] if retry else None,
    )
    if not result.success:
        click.echo(f"pin: run {result.run_id} failed; see `DAGSTER_HOME={os.environ['DAGSTER_HOME']} "
                   "dagster dev` for the logs", err=True)
        return 1
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    defs.resolve_job_def("stats_job").execute_in_process(instance=instance, run_config=quiet)
    realsyn_line = "  realsyn           skipped (--no-realsyn)"
    if realsyn:
        realsyn_line = _run_realsyn(defs, instance, batch_name, quiet, storage)
    elapsed = time.perf_counter() - started
    account = account_batch(storage, batch_name)
    images = len(list(storage.list_keys("images")))
    if retry:
        for name in RETRY_STAGES:
            (event,) = result.asset_materializations_for_node(name)
            click.echo(f"retry: {name} processed {event.metadata['documents_processed'].value} documents, "
                       f"kept {event.metadata['documents_kept'].value}")
    click.echo(
        "\n".join(
            [
                f"batch {batch_name!r} done in {elapsed:.1f} s (run {result.run_id})",
                f"  documents in      {account.documents}",
                f"  records out       {account.records}",
                f"  quarantined       {account.quarantined}",
                f"  pages rendered    {account.pages_rendered}",
                f"  images extracted  {account.content_images} in records ({images} distinct in store)",
                f"  conservation      {'ok' if account.balanced else 'BROKEN'}: "
                f"{account.documents} = {account.records} + {account.quarantined}",
                f"  records           {account.export_prefix}",
                f"  signal dashboard  {storage.uri(layout.STATS_DASHBOARD)}",
                realsyn_line,
                f"  store             {storage.base_uri}",
                f"  Dagster instance  {os.environ['DAGSTER_HOME']} (see README: dagster dev)",
            ]
        )
    )
    return 0 if account.balanced else 1


@main.command()
@click.option("--where", "where_sql", default=None, help="SQL filter to preview, e.g. 'total_token_count >= 50'.")
def stats(where_sql: str | None) -> None:
    """Print the signal statistics of every batch (the `signal_stats` table), or preview a filter."""
    from pin_assets.assets.stats import signal_source
    from pin_assets.core.dashboard import stats_markdown
    from pin_assets.core.stats import UnsafeFilterError, compute_stats, count_where

    source = signal_source(_storage())
    if source is None:
        click.echo("pin stats: no signals yet; run `pin demo` or materialize quality_signals", err=True)
        sys.exit(2)
    if where_sql is None:
        click.echo(stats_markdown(compute_stats(source)))
        return
    try:
        kept, total = count_where(source, where_sql)
    except UnsafeFilterError as exc:
        click.echo(f"pin stats: {exc}", err=True)
        sys.exit(2)
    share = kept / total if total else 0.0
    click.echo(f"{kept} of {total} documents kept ({share:.1%}) by: {where_sql}")


def _run_realsyn(defs, instance, batch_name: str, run_config: dict, storage) -> str:
    """Centroids (trained once), the batch's index shard and pairs, then the balance over every batch."""
    meta = {}
    for job, partition in (("realsyn_centroids_job", None), ("realsyn_batch_job", batch_name), ("realsyn_job", None)):
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, run_config=run_config, partition_key=partition, raise_on_error=False)
        if not result.success:
            return f"  realsyn           FAILED ({job}, run {result.run_id})"
        meta.update({e.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
                     for e in result.get_asset_materialization_events()})
    return _realsyn_summary(meta, storage)


def _realsyn_summary(meta: dict, storage) -> str:
    """One line on the RealSyn branch, from the pairs' and balanced_samples' own metadata."""
    from pin_assets import realsyn_layout

    paired = meta["image_text_pairs"]["images"].value
    balanced = meta["balanced_samples"]
    return (f"  realsyn           {paired} images paired with real sentences, {balanced['images_after'].value} in "
            f"the balanced sample ({balanced['shards'].value} WebDataset shards): "
            f"{storage.uri(realsyn_layout.BALANCED)}")


@main.command()
@click.argument("batch_name")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@click.option("--retry", is_flag=True,
              help="Re-run parse and render for the quarantined documents only (keeping every converted one), "
                   "then signals and export; use after a fix or with --set to raise a limit.")
@REALSYN_OPTION
@SET_OPTION
def quarantine(batch_name: str, as_json: bool, retry: bool, realsyn: bool, settings: tuple[str, ...]) -> None:
    """List the quarantined documents of a batch (source, stage, error class, message), or retry them.

    With --retry the parse and render stages keep every document they converted and process only their
    quarantined ones, so a fix (or a limit raised with --set) costs what the failures cost, not the batch.
    """
    from pin_assets.quarantine import read_quarantine

    if retry:
        sys.exit(_run_batch(batch_name, realsyn=realsyn, retry=True, settings=_processing_settings(settings)))
    if settings:
        raise click.UsageError("--set only applies with --retry")

    rows = read_quarantine(_storage(), batch_name).to_pylist()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(f"{row['doc_id'][:12]}  {row['stage']:<7} {row['reason']:<12} {row['source_uri']}\n"
                       f"              {row['error_class']}: {row['message']}")
    if not as_json:
        click.echo(f"{len(rows)} quarantined in batch {batch_name!r}")


if __name__ == "__main__":
    main()
