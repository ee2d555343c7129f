"""`pin`: convert single files, run batches through the Dagster job, and inspect what happened.

\b
  pin demo                        run the bundled sample batch, print results
  pin convert INPUT... -o OUT     convert files without Dagster
  pin batch add NAME SOURCE       register a folder, file, s3:// or URL list
  pin batch list                  list registered batches
  pin batch remove NAME [--purge] unregister (--purge: delete its outputs)
  pin materialize BATCH           run the whole graph for one batch
  pin quarantine BATCH            what a batch could not convert, and why
  pin quarantine BATCH --retry    after a fix, redo only quarantined documents
  pin stats [--where SQL]         signal statistics, or what a filter keeps
  pin views BATCH --view V -o DIR write a training view as WebDataset shards

\b
Storage:  $PIN_STORAGE_URI (default ./pin_data)
Instance: $DAGSTER_HOME (default ./.dagster_home), which the UI reads with
          DAGSTER_HOME=$PWD/.dagster_home dagster dev
A failed run prints its failing step and where its full log is.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from pin_assets.core.progress import Progress

from pin_assets.core import kinds
from pin_assets.layout import VIEW_NAMES

DEFAULT_DAGSTER_HOME = ".dagster_home"
INSTANCE_TEMPLATE = Path(__file__).with_name("instance.yaml")


_OPEN_RESOURCES = contextlib.ExitStack()  # resources the command opened; closed when the process exits
atexit.register(_OPEN_RESOURCES.close)


class PinError(click.ClickException):
    """A problem the user can fix (a bad path, an unknown batch, an unreachable store): one line, exit 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: ANN001 (click's signature)
        click.echo(f"pin: {self.format_message()}", err=True)


def _instance():
    """The persistent Dagster instance the UI also reads (``$DAGSTER_HOME``, default ``./.dagster_home``)."""
    from dagster import DagsterInstance

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(DEFAULT_DAGSTER_HOME).resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():  # SQLite storage in DAGSTER_HOME, one queued UI run at a time, no telemetry
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    return DagsterInstance.get()


def _storage():
    """The configured store, checked once: an unreachable S3 endpoint or a missing bucket is a one-line error."""
    from botocore.exceptions import BotoCoreError, ClientError

    from resources import StorageUnavailableError, build_resources

    # Initialized as Dagster would for a run, so EnvVar settings (endpoint, credentials) are resolved.
    storage = _OPEN_RESOURCES.enter_context(build_resources()["storage"].process_config_and_initialize_cm())
    try:
        storage.check()
    except (StorageUnavailableError, OSError, ClientError, BotoCoreError) as exc:
        raise PinError(f"storage {storage.base_uri}: {exc}") from exc
    return storage


def _tokenizer():
    """The configured tokenizer (the same one the signals counted with)."""
    from resources import build_resources

    return build_resources()["tokenizer"].get()


@click.group(help=__doc__, context_settings={"max_content_width": 110})
def main() -> None:
    """Entry point of the `pin` console script."""


@main.command(short_help="Convert files without Dagster.",
              epilog=f"Inputs: {kinds.accepted_labels(with_containers=False)}, each detected by its content; "
              "WARC crawls (.warc, .warc.gz), each HTML record a document.")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--dpi", default=100, show_default=True, help="Resolution of overall images.")
@click.option("--format", "fmt", default="webp", show_default=True, type=click.Choice(["webp", "jpeg", "png"]))
@click.option("--source-dataset", default="local", show_default=True)
@click.option("--license", "license_", default="unknown", show_default=True)
@click.option("--workers", default=0, show_default=True, help="Worker processes (0: one per CPU core).")
@click.option("--timeout", "timeout_s", default=120.0, show_default=True,
              help="Seconds one input may take before its worker is killed.")
@click.option("--memory-mb", default=4096, show_default=True, help="Memory cap of each worker process.")
@click.option("--image-syntax", default="markdown", show_default=True, type=click.Choice(["markdown", "html"]),
              help="Images in the .md file: ![alt](content_image/N) or PIN-14M's <img> tag (the .json has tags).")
@click.option("--comments", is_flag=True, help="Web pages: keep the comments after the main content.")
@click.option("--title-heading", is_flag=True,
              help="Web pages: put the page's <h1> on top when trafilatura leaves it out of the text.")
@click.option("--fetch-images", default="auto", show_default=True, type=click.Choice(["auto", "on", "off"]),
              help="Web pages: fetch the main content's remote images (auto: for WARC pages, not local files).")
def convert(
    inputs: tuple[Path, ...], out_dir: Path, dpi: int, fmt: str, source_dataset: str, license_: str,
    workers: int, timeout_s: float, memory_mb: int, image_syntax: str, comments: bool, title_heading: bool,
    fetch_images: str,
) -> None:
    """Write OUT/<stem>/<stem>.md, <stem>.json, content_image/ and overall_image/ for each input; for each
    HTML record of a WARC file (.warc, .warc.gz), OUT/<warc stem>/<NNNN-host-path>/ with the same files.

    The .json is the PIN-14M record (images as <img src='content_image/NAME'> tags in its md); the .md
    file is the same Markdown with images in --image-syntax.

    Each input runs in a worker process with a timeout and a memory cap, as in a batch: an input that
    fails, hangs or crashes gets one line on stderr and the others go on. The exit status is the number of
    documents that failed (at most 100); 0 when all converted.
    """
    from pin_assets.core.convert_files import convert_files
    from pin_assets.core.limits import DocumentLimits
    from pin_assets.core.pdf_pages import RenderOptions
    from pin_assets.core.web_settings import WebSettings

    web = WebSettings(comments=comments, title_heading=title_heading, fetch_images=fetch_images)
    limits = DocumentLimits(timeout_s=timeout_s, memory_mb=memory_mb, web=web)
    results = convert_files(
        list(inputs), out_dir, RenderOptions(dpi=dpi, fmt=fmt), source_dataset=source_dataset, license=license_,
        limits=limits, workers=workers or (os.cpu_count() or 1), image_syntax=image_syntax,
    )
    crawls = any(p.name.lower().endswith((".warc", ".warc.gz")) for p in inputs)  # many documents each
    with _progress_line("convert", None if crawls else len(inputs), unit="documents") as progress:
        failures = done = 0
        for label, result in results:
            failures += not _report_converted(label, result)
            done += 1
            progress.advance()
    if failures:
        click.echo(f"pin convert: {failures} of {done} documents failed", err=True)
    sys.exit(min(failures, MAX_EXIT_COUNT))


MAX_EXIT_COUNT = 100  # exit statuses above 125 mean "killed by a signal" to shells


def _report_converted(path: Path | str, result) -> bool:
    """One line for one input, on stdout when converted, on stderr (one line, however long) when not."""
    from pin_assets.core.isolation import TaskFailure
    from pin_assets.core.text import clean_text

    if isinstance(result, TaskFailure):
        message = " ".join(result.message.split())
        _say(f"pin convert: {clean_text(str(path))}: {result.reason}: {message}", err=True)
        return False
    _say(f"{clean_text(str(path))} -> {clean_text(result.folder)}/ ({result.pages} pages, "
               f"{result.images} images, {result.seconds:.2f} s)")
    return True


@contextlib.contextmanager
def _progress_line(stage: str, total: int | None, unit: str = "documents") -> Iterator[Progress]:
    """A live progress line on stderr when it is a terminal; nothing in pipes, files or CI logs."""
    from pin_assets.core.progress import terminal_progress, track

    with terminal_progress(), track(stage, total, unit=unit) as progress:
        yield progress


def _say(line: str, err: bool = False) -> None:
    """Echo a line without tearing a live progress line: the line is cleared first and redrawn after."""
    from pin_assets.core.progress import clear_terminal_lines

    clear_terminal_lines()
    click.echo(line, err=err)


@main.group(short_help="Register, list and remove batches.")
def batch() -> None:
    """Register, list and remove batches (dynamic partitions)."""


@batch.command("add", short_help="Register a folder, file, s3:// prefix or URL list.")
@click.argument("name")
@click.argument("source")
@click.option("--dataset", "source_dataset", default=None, help="Source name in records (default: NAME).")
@click.option("--license", "license_", default="unknown", show_default=True)
@click.option("--images", "images", default="",
              help="OBELICS/MMC4 sources: local folder or tar file(s) holding the rows' images (never fetched).")
@click.option("--replace", is_flag=True,
              help="NAME exists with another source: point it at SOURCE and delete its old stored outputs.")
def batch_add(
    name: str, source: str, source_dataset: str | None, license_: str, images: str, replace: bool
) -> None:
    """Register SOURCE (a folder, file, s3:// prefix or .urls list) as batch NAME.

    SOURCE is checked first: it must exist and hold at least one document pin converts. Materialize the
    batch with `pin materialize NAME` or in the UI.
    """
    from pin_assets.batches import BatchExistsError, BatchSpec, load_spec, register_batch, remove_batch
    from pin_assets.core.sources.check import SourceProblem, check_source

    if "://" not in source:
        source = str(Path(source).resolve())
    if images and "://" not in images:
        images = str(Path(images).resolve())
    try:
        spec = BatchSpec(name, source, source_dataset or name, license_, images_uri=images)
    except ValueError as exc:
        raise PinError(str(exc)) from exc
    instance, storage = _instance(), _storage()
    try:
        check_source(source, s3_client_factory=storage.s3_client_factory())
    except SourceProblem as exc:
        raise PinError(str(exc)) from exc
    previous = load_spec(storage, name)
    if replace and previous is not None and previous.source_uri != spec.source_uri:
        removed = remove_batch(instance, storage, name, purge=True)  # no stale outputs of the old source
        click.echo(f"replacing batch {name!r} (was {previous.source_uri}): {removed.objects_deleted} stored "
                   "objects deleted")
    try:
        spec = register_batch(instance, storage, spec, replace=replace)
    except BatchExistsError as exc:
        raise PinError(str(exc)) from exc
    click.echo(f"registered batch {spec.name!r} from {spec.source_uri} (dataset {spec.source_dataset!r})")


@batch.command("list")
def batch_list() -> None:
    """List registered batches."""
    from pin_assets.partitions import batches

    for name in _instance().get_dynamic_partitions(batches.name):
        click.echo(name)


@batch.command("remove", short_help="Unregister a batch; --purge deletes its outputs.")
@click.argument("name")
@click.option("--purge", is_flag=True,
              help="Also delete everything stored for this batch: raw copies, Markdown, renders, signals, "
                   "quarantine, exported records, RealSyn corpus.")
def batch_remove(name: str, purge: bool) -> None:
    """Unregister batch NAME (its partition and stored spec); with --purge delete its stored outputs too.

    Content images shared with other batches stay; corpus-wide outputs (signal_stats, RealSyn pairs)
    drop the batch the next time they are built.
    """
    from pin_assets.batches import remove_batch

    instance = _instance()
    _require_batch(instance, name)
    removed = remove_batch(instance, _storage(), name, purge=purge)
    if purge:
        click.echo(f"removed batch {name!r} and {removed.objects_deleted} stored objects")
    else:
        click.echo(f"removed batch {name!r} (stored outputs kept; `pin batch remove {name} --purge` deletes them)")


def _require_batch(instance, name: str) -> None:  # noqa: ANN001 (a DagsterInstance)
    """Refuse an unregistered batch name with the list of names that exist."""
    from pin_assets.partitions import batches

    if instance.has_dynamic_partition(batches.name, name):
        return
    known = instance.get_dynamic_partitions(batches.name)
    hint = f"registered: {', '.join(known[:10])}{' ...' if len(known) > 10 else ''}" if known else "none registered"
    raise PinError(f"unknown batch {name!r} ({hint}); register it with `pin batch add {name} SOURCE`")


REALSYN_OPTION = click.option(
    "--realsyn/--no-realsyn",
    default=True,
    show_default=True,
    help="Also rebuild the corpus-wide RealSyn index, pairs and balanced shards (embeds every sentence).",
)


RETRY_STAGES = ("parsed_markdown", "page_renders")
# Everything pin_job makes after ingest: a retry redoes what the retried documents feed into.
RETRY_ASSETS = (*RETRY_STAGES, "quality_signals", "pin_records", "interleaved_documents", "realsyn_corpus")

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
    from pydantic import TypeAdapter, ValidationError

    from resources.processing import ProcessingResource

    fields = ProcessingResource.model_fields
    settings: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise PinError(f"--set {pair!r}: use NAME=VALUE with NAME one of {', '.join(sorted(fields))}")
        try:
            settings[name] = TypeAdapter(fields[name].annotation).validate_strings(value.strip())
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise PinError(f"--set {pair!r}: {reason} ({name} is {fields[name].annotation.__name__})") from exc
    return settings


VERBOSE_OPTION = click.option(
    "-v", "--verbose", is_flag=True,
    help="Print Dagster's own event log while running (it is always written to $DAGSTER_HOME/logs/).",
)


@main.command(short_help="Run the whole graph for one batch.")
@click.argument("batch_name")
@REALSYN_OPTION
@SET_OPTION
@VERBOSE_OPTION
def materialize(batch_name: str, realsyn: bool, settings: tuple[str, ...], verbose: bool) -> None:
    """Run the whole asset graph for one registered batch and print what it made."""
    sys.exit(_run_batch(batch_name, realsyn=realsyn, settings=_processing_settings(settings), verbose=verbose))


@main.command(short_help="Materialize the bundled sample batch.")
@REALSYN_OPTION
@VERBOSE_OPTION
def demo(realsyn: bool, verbose: bool) -> None:
    """Materialize the bundled `sample` batch (PDF, JATS, HTML) with local storage and print what it made."""
    from pin_assets.batches import SAMPLE_SPEC, register_batch

    register_batch(_instance(), _storage(), SAMPLE_SPEC, replace=True)  # the bundled copy, wherever installed
    sys.exit(_run_batch(SAMPLE_SPEC.name, realsyn=realsyn, verbose=verbose))


def _console(verbose: bool) -> dict:
    """Dagster's console logger: silent unless --verbose; progress lines and the summary say what matters."""
    return {"loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}}


def _execute(defs, job_name: str, instance, run_config: dict, **kwargs):  # noqa: ANN001, ANN202
    """Run a job in this process; a failure prints its failing step, the one-line cause and the log's path."""
    from pin_assets.core.progress import terminal_progress
    from pin_assets.run_report import failure_lines, write_run_log

    with terminal_progress():
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, raise_on_error=False, run_config=run_config, **kwargs
        )
    if not result.success:
        log = write_run_log(instance, result.run_id, Path(os.environ["DAGSTER_HOME"]))
        for line in failure_lines(result):
            click.echo(f"pin: {job_name}: {line}", err=True)
        click.echo(f"pin: full log: {log} (or open run {result.run_id} in `dagster dev`)", err=True)
    return result


def _run_batch(
    batch_name: str,
    *,
    realsyn: bool,
    retry: bool = False,
    settings: dict[str, object] | None = None,
    verbose: bool = False,
) -> int:
    """Run ``pin_job`` for one batch (from parse on, quarantined documents only, with ``retry``) and report."""
    from dagster import AssetKey

    from pin_assets import layout
    from pin_assets.accounting import account_batch
    from pin_assets.definitions import build_definitions

    instance = _instance()
    _require_batch(instance, batch_name)
    storage = _storage()
    defs = build_definitions()
    started = time.perf_counter()
    run_config: dict = _console(verbose)
    if settings:
        run_config["resources"] = {"processing": {"config": settings}}
    if retry:
        run_config["ops"] = {name: {"config": {"retry_quarantined_only": True}} for name in RETRY_STAGES}
    result = _execute(
        defs, "pin_job", instance, run_config,
        partition_key=batch_name,
        asset_selection=[AssetKey(name) for name in RETRY_ASSETS] if retry else None,
    )
    if not result.success:
        return 1
    quiet = _console(verbose)
    _execute(defs, "stats_job", instance, quiet)
    realsyn_line = "  realsyn           skipped (--no-realsyn)"
    if realsyn:
        realsyn_line = _run_realsyn(defs, instance, batch_name, quiet, storage)
    elapsed = time.perf_counter() - started
    checks = result.get_asset_check_evaluations()
    failed_checks = _failed_error_checks(checks)
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
                f"  quarantined       {account.quarantined}"
                + (f" (why: pin quarantine {batch_name})" if account.quarantined else ""),
                f"  pages rendered    {account.pages_rendered}",
                f"  images extracted  {account.content_images} in records ({images} distinct in store)",
                f"  conservation      {'ok' if account.balanced else 'BROKEN'}: "
                f"{account.documents} = {account.records} + {account.quarantined}",
                f"  checks            {_checks_line(checks, failed_checks)}",
                f"  records           {account.export_prefix}",
                f"  signal dashboard  {storage.uri(layout.STATS_DASHBOARD)}",
                _duplicates_line(storage),
                realsyn_line,
                f"  store             {storage.base_uri}",
                f"  Dagster instance  {os.environ['DAGSTER_HOME']} (see README: dagster dev)",
            ]
        )
    )
    for name in failed_checks:
        click.echo(f"pin: asset check {name} failed at ERROR severity; see its metadata in the UI", err=True)
    return 0 if account.balanced and not failed_checks else 1


def _duplicates_line(storage) -> str:  # noqa: ANN001 (a StorageResource)
    """The summary's duplicates line, from the last duplicate_clusters run over every batch."""
    import json

    from pin_assets import layout

    if not storage.exists(layout.DEDUP_SUMMARY):
        return "  duplicates        not computed (materialize duplicate_clusters)"
    totals = json.loads(storage.get_bytes(layout.DEDUP_SUMMARY))["totals"]
    return (f"  duplicates        {totals['duplicates']} of {totals['documents']} documents in all batches, "
            f"{totals['clusters']} clusters (filter: pin stats --where 'NOT is_duplicate')")


def _failed_error_checks(evaluations) -> list[str]:
    """``asset/check`` names of the ERROR-severity checks that did not pass: any one makes the run a failure."""
    from dagster import AssetCheckSeverity

    return [
        f"{e.asset_key.to_user_string()}/{e.check_name}"
        for e in evaluations
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]


def _checks_line(evaluations, failed: list[str]) -> str:
    """The summary's checks line: the failed ERROR checks by name, else how many passed, with any warnings."""
    warned = [e.check_name for e in evaluations if not e.passed
              and f"{e.asset_key.to_user_string()}/{e.check_name}" not in failed]
    passed = len(evaluations) - len(warned)
    line = f"FAILED {', '.join(failed)}" if failed else f"ok ({passed} of {len(evaluations)} passed)"
    return line + (f"; warnings: {', '.join(warned)}" if warned else "")


@main.command(short_help="Signal statistics, or what a filter keeps.")
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
        from pin_assets.core.dedup.flags import FLAG_COLUMNS

        flags = "unknown column" in str(exc) and any(name in str(exc) for name in FLAG_COLUMNS)
        hint = " (the duplicate flags exist once duplicate_clusters has run, e.g. after `pin materialize`)"
        click.echo(f"pin stats: {exc}{hint if flags else ''}", err=True)
        sys.exit(2)
    share = kept / total if total else 0.0
    click.echo(f"{kept} of {total} documents kept ({share:.1%}) by: {where_sql}")


@main.command(short_help="Write a training view of a batch as WebDataset shards.")
@click.argument("batch_name")
@click.option("--view", "view", required=True, type=click.Choice(VIEW_NAMES))
@click.option("--where", "where_sql", default=None, help="Quality-signal filter, as for `pin stats --where`.")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--shard-samples", default=1000, show_default=True, help="Samples per WebDataset shard.")
@click.option("--token-budget", default=8192, show_default=True, help="doc_pairs: most Markdown tokens a sample.")
def views(batch_name: str, view: str, where_sql: str | None, out_dir: Path, shard_samples: int,
          token_budget: int) -> None:
    """Write one training view of a materialized batch to DIR: shard-NNNNN.tar, index.parquet, manifest.json."""
    from pin_assets.core.stats import UnsafeFilterError
    from pin_assets.core.views import ViewOptions
    from pin_assets.records import record_keys
    from pin_assets.views_io import build_view, folder_sinks

    storage = _storage()
    try:
        if not record_keys(storage, batch_name):
            raise FileNotFoundError(f"no exported records for batch {batch_name!r}")
    except (FileNotFoundError, ValueError) as exc:
        raise PinError(f"{exc}; materialize the batch first (`pin materialize {batch_name}`)") from exc
    put_file, put_bytes = folder_sinks(out_dir)
    try:
        manifest = build_view(storage, batch_name, view, _tokenizer(), put_file, put_bytes,
                              where=where_sql, options=ViewOptions(token_budget=token_budget),
                              max_samples=shard_samples)
    except UnsafeFilterError as exc:
        raise PinError(str(exc)) from exc
    click.echo(f"{view} of {batch_name}: {manifest.samples} samples from {manifest.documents} documents, "
               f"{manifest.pages} pages, {manifest.tokens} tokens, {len(manifest.shards)} shards in {out_dir}")


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


@main.command(short_help="What a batch could not convert; --retry.")
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

    _require_batch(_instance(), batch_name)
    if retry:
        sys.exit(_run_batch(batch_name, realsyn=realsyn, retry=True, settings=_processing_settings(settings)))
    if settings:
        raise PinError("--set only applies with --retry")

    rows = read_quarantine(_storage(), batch_name).to_pylist()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row))
        else:
            where = f" (at {row['location']})" if row.get("location") else ""
            click.echo(f"{row['doc_id'][:12]}  {row['stage']:<7} {row['reason']:<12} {row['source_uri']}\n"
                       f"              {row['error_class']}: {row['message']}{where}")
    if not as_json:
        click.echo(f"{len(rows)} quarantined in batch {batch_name!r}")


if __name__ == "__main__":
    main()
