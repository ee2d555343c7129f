"""A fuzz corpus: the shared corpus documents mutated with a fixed seed, the way files arrive broken.

PDF mutations: byte flips, truncation at a random offset, a dropped or a duplicated object, broken
cross-reference offsets, a corrupted content stream, a corrupted image (its data or its dictionary), the
header moved past junk bytes (sometimes past the 1 KiB that readers search), and the header removed.
XML/HTML mutations: truncation, invalid UTF-8, NUL bytes, and closing tags removed.

Kinds are dealt round-robin and sources in turn, so even the CI-sized corpus has every kind; the same
seed and sizes always give the same bytes. ``PIN_FUZZ_SEED``, ``PIN_FUZZ_PDF`` and ``PIN_FUZZ_MARKUP``
raise the size for a longer local run; ``python -m tests.fuzz_corpus`` runs such a corpus through the
whole graph and prints a table per mutation kind.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymupdf

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "pin_assets" / "data" / "sample"
SHARED = REPO.parent / "shared" / "corpus"

DEFAULT_SEED = 11
DEFAULT_PDF = 27  # three of each PDF mutation
DEFAULT_MARKUP = 12  # three of each markup mutation


@dataclass(frozen=True)
class Variant:
    """One mutated document: its file name in the batch, the mutation and the source it came from."""

    name: str
    kind: str
    source: str
    data: bytes


def fuzz_size() -> tuple[int, int, int]:
    """``(seed, pdf variants, markup variants)`` from the environment, else the CI defaults."""
    return (int(os.environ.get("PIN_FUZZ_SEED", DEFAULT_SEED)), int(os.environ.get("PIN_FUZZ_PDF", DEFAULT_PDF)),
            int(os.environ.get("PIN_FUZZ_MARKUP", DEFAULT_MARKUP)))


def _sources(folders: list[Path], patterns: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """Distinct documents (by content) under the folders, in name order."""
    seen: set[str] = set()
    found = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(p for pattern in patterns for p in folder.glob(pattern)):
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest not in seen:
                seen.add(digest)
                found.append((path.name, data))
    return sorted(found)


def pdf_sources() -> list[tuple[str, bytes]]:
    return _sources([SHARED / "pdf", SAMPLE / "pdf"], ("*.pdf",))


def markup_sources() -> list[tuple[str, bytes]]:
    return _sources([SHARED / "html", SHARED / "jats", SAMPLE / "html", SAMPLE / "jats"], ("*.html", "*.nxml"))


# ---------------------------------------------------------------- PDF mutations

_OBJECT = re.compile(rb"(?:^|[\r\n])(\d{1,7}) (\d{1,5}) obj\b.*?endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n")
_IMAGE_KEYS = (rb"/Width", rb"/Height", rb"/BitsPerComponent", rb"/ColorSpace", rb"/SMask", rb"/Filter", rb"/Length")


def _byte_flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 64)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randint(len(data) // 20, len(data) - 1)]


def _objects(data: bytes) -> list[re.Match[bytes]]:
    return list(_OBJECT.finditer(data))


def _drop_object(rng: random.Random, data: bytes) -> bytes:
    objects = _objects(data)
    if not objects:
        return _truncate(rng, data)
    victim = rng.choice(objects)
    return data[: victim.start()] + data[victim.end():]


def _duplicate_object(rng: random.Random, data: bytes) -> bytes:
    """A second copy of an object, later in the file, with some of its bytes changed: which one wins
    depends on whether the reader trusts the xref or rebuilds it."""
    objects = _objects(data)
    if not objects:
        return data + data[: len(data) // 3]
    victim = rng.choice(objects)
    copy = bytearray(victim.group(0))
    for _ in range(rng.randint(0, 8)):
        copy[rng.randrange(len(copy))] = rng.randrange(32, 127)
    at = rng.choice(objects).end()
    return data[:at] + bytes(copy) + data[at:]


def _broken_xref(rng: random.Random, data: bytes) -> bytes:
    """Offsets that point elsewhere: the ``startxref`` value, or entries of a classic xref table."""
    table = data.rfind(b"\nxref")
    if table >= 0 and rng.random() < 0.5:
        out = bytearray(data)
        for match in re.finditer(rb"(\d{10}) (\d{5}) n", data[table:]):
            if rng.random() < 0.3:
                offset = b"%010d" % rng.randrange(len(data))
                start = table + match.start(1)
                out[start : start + 10] = offset
        return bytes(out)
    start = data.rfind(b"startxref")
    if start < 0:
        return _byte_flip(rng, data)
    end = data.find(b"%%EOF", start)
    end = len(data) if end < 0 else end
    numbers = re.findall(rb"\d+", data[start:end])
    current = int(numbers[0]) if numbers else 0
    value = rng.choice([0, rng.randrange(len(data)), len(data) * 3, max(0, current + rng.randint(-40, 40))])
    return data[:start] + b"startxref\n%d\n" % value + data[end:]


def _streams(data: bytes, image_only: bool) -> list[tuple[int, int]]:
    """``(start, end)`` of stream payloads, optionally only those whose dictionary says /Image."""
    found = []
    for match in _STREAM.finditer(data):
        start = match.end()
        end = data.find(b"endstream", start)
        head = data[max(0, match.start() - 600) : match.start()]
        if end > start and (not image_only or b"/Image" in head[head.rfind(b"obj"):]):
            found.append((start, end))
    return found


def _corrupt_stream(rng: random.Random, data: bytes, image_only: bool = False) -> bytes:
    streams = _streams(data, image_only)
    if not streams:
        return _byte_flip(rng, data)
    start, end = rng.choice(streams)
    at = rng.randrange(start, end)
    size = rng.randint(1, max(1, min(4096, end - at)))
    return data[:at] + rng.randbytes(size) + data[at + size :]


def _corrupt_image(rng: random.Random, data: bytes) -> bytes:
    """An image's payload overwritten, or one of its dictionary values (size, depth, colour space, mask)
    changed to something that does not fit the data."""
    streams = _streams(data, image_only=True)
    if not streams or rng.random() < 0.5:
        return _corrupt_stream(rng, data, image_only=bool(streams))
    start, _ = rng.choice(streams)
    head_start = data.rfind(b"obj", 0, start)
    head = data[head_start:start]
    keys = [k for k in _IMAGE_KEYS if k in head]
    if not keys:
        return _corrupt_stream(rng, data, image_only=True)
    key = rng.choice(keys)
    at = head_start + head.index(key) + len(key)
    value = re.match(rb"\s*(/\w+|\[[^\]]*\]|\d+ \d+ R|\d+)", data[at:])
    if value is None:
        return _corrupt_stream(rng, data, image_only=True)
    new = rng.choice([b" 0", b" 1", b" 3", b" 65535", b" /DeviceCMYK", b" /Lab", b" [/Indexed /DeviceRGB 1 <00>]",
                      b" 9999 0 R", b" /JPXDecode", b" -1"])
    return data[:at] + new + data[at + value.end():]


def _junk_header(rng: random.Random, data: bytes) -> bytes:
    """Bytes in front of ``%PDF-``: a mail gateway's or web server's, sometimes more than 1 KiB of them."""
    line = rng.choice([b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n", b"From: scanner@example.org\n",
                       b"\x00\x00\x01\x00junk", b"<html><body>"])
    return line * rng.randint(1, 60) + data


def _no_header(rng: random.Random, data: bytes) -> bytes:
    """The header gone: its line cut (and sometimes the binary comment line after it), or its bytes
    overwritten in place so that every offset still points at its object."""
    if not data.startswith(b"%PDF-"):
        return data
    end = data.index(b"\n") + 1
    choice = rng.randrange(3)
    if choice == 0:
        return rng.choice([b" ", b"\x00", b"X"]) * rng.randint(5, end - 1) + data[rng.randint(5, end - 1):]
    out = data[end:]
    if choice == 2 and out.startswith(b"%"):
        out = out[out.index(b"\n") + 1 :]
    return out


PDF_MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "byte_flip": _byte_flip,
    "truncate": _truncate,
    "drop_object": _drop_object,
    "duplicate_object": _duplicate_object,
    "broken_xref": _broken_xref,
    "corrupt_stream": _corrupt_stream,
    "corrupt_image": _corrupt_image,
    "junk_header": _junk_header,
    "no_header": _no_header,
}


# ---------------------------------------------------------------- XML/HTML mutations


def _markup_truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randint(1, len(data) - 1)]


def _invalid_utf8(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 40)):
        at = rng.randrange(len(out))
        out[at:at] = rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x80\x80", b"\xf8\x88\x80\x80\x80"])
    return bytes(out)


def _nul_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 40)):
        at = rng.randrange(len(out))
        out[at:at] = b"\x00" * rng.randint(1, 4)
    return bytes(out)


def _unclosed_tags(rng: random.Random, data: bytes) -> bytes:
    """Closing tags removed (a share of them, or all from a random point on)."""
    share = rng.choice([0.3, 0.7, 1.0])
    cut = rng.randrange(len(data))
    return re.sub(rb"</[A-Za-z][\w:.-]*\s*>",
                  lambda m: b"" if m.start() >= cut or rng.random() < share * 0.5 else m.group(0), data)


MARKUP_MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "markup_truncate": _markup_truncate,
    "invalid_utf8": _invalid_utf8,
    "nul_bytes": _nul_bytes,
    "unclosed_tags": _unclosed_tags,
}


def _variants(count: int, rng: random.Random, sources: list[tuple[str, bytes]],
              mutations: dict[str, Callable[[random.Random, bytes], bytes]], prefix: str,
              seen: set[bytes]) -> list[Variant]:
    if not sources:
        raise FileNotFoundError("no corpus documents to mutate (shared/corpus or pin_assets/data/sample)")
    kinds = list(mutations)
    out = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        name, original = sources[(index // len(kinds) + index) % len(sources)]
        for _ in range(20):  # a mutation that changes nothing, or repeats another variant, is drawn again
            data = mutations[kind](rng, original)
            if data and data != original and hashlib.sha256(data).digest() not in seen:
                break
        else:  # a deterministic mutation of a source it has already been applied to: told apart at the end
            data += b"\n%% variant %d\n" % index if prefix == "p" else b"\n<!-- variant %d -->\n" % index
        seen.add(hashlib.sha256(data).digest())
        stem, _, ext = name.rpartition(".")
        out.append(Variant(f"{prefix}{index:04d}-{kind}-{stem[:24]}.{ext}", kind, name, data))
    return out


def fuzz_variants(seed: int = DEFAULT_SEED, pdf: int = DEFAULT_PDF, markup: int = DEFAULT_MARKUP) -> list[Variant]:
    """``pdf`` mutated PDFs and ``markup`` mutated XML/HTML documents, the same bytes for the same arguments."""
    rng = random.Random(seed)
    seen: set[bytes] = set()
    return (_variants(pdf, rng, pdf_sources(), PDF_MUTATIONS, "p", seen)
            + _variants(markup, rng, markup_sources(), MARKUP_MUTATIONS, "m", seen))


def write_variants(folder: Path, variants: list[Variant]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for variant in variants:
        (folder / variant.name).write_bytes(variant.data)


def mupdf_has_text(data: bytes) -> bool:
    """Whether plain PyMuPDF opens the bytes as a PDF and extracts text from some page: the bar a
    converted document must clear (a variant that passes it must come out as a record)."""
    try:
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            return any(doc[i].get_text().strip() for i in range(doc.page_count))
    except Exception:  # MuPDF's own classes, RuntimeError, ValueError: plain PyMuPDF gets nothing either
        return False
    finally:
        pymupdf.TOOLS.reset_mupdf_warnings()


# ---------------------------------------------------------------- the large run


def _main() -> None:
    """Run the corpus sized by the environment through the whole graph; print one row per mutation kind.

    ``s/doc (parse)`` is each document's time to a verdict in one warm single-worker pool (the gap between
    two results), ``s/doc (graph)`` the whole graph's wall time over all documents with two workers.
    """
    import tempfile
    import time
    from collections import Counter, defaultdict

    from dagster import DagsterInstance

    from pin_assets.accounting import account_batch
    from pin_assets.core.convert import parse_document
    from pin_assets.core.document import ConversionError
    from pin_assets.core.isolation import run_isolated
    from pin_assets.core.limits import DocumentLimits
    from pin_assets.core.sources.detect import detect_kind
    from pin_assets.quarantine import read_quarantine
    from resources import StorageResource
    from tests.pipeline_support import read_records, run_batch

    seed, pdf, markup = fuzz_size()
    variants = fuzz_variants(seed, pdf, markup)
    limits = DocumentLimits(timeout_s=60.0)
    parse_s: dict[str, float] = {}
    kinds: dict[str, str] = {}
    for v in variants:
        try:
            kinds[v.name] = detect_kind(v.data, v.name)
        except ConversionError:
            parse_s[v.name] = 0.0
    last = time.perf_counter()
    warm = Variant("warm-up.md", "warm", "", b"# Warm up\n\nA first document that starts the pool.\n")
    kinds[warm.name] = "markdown"
    for v, _ in run_isolated(parse_document, [warm, *(v for v in variants if v.name in kinds)],
                             args_of=lambda v: (v.data, kinds[v.name], limits, None), workers=1,
                             timeout_s=limits.timeout_s, memory_mb=limits.memory_mb):
        now = time.perf_counter()
        parse_s[v.name] = now - last
        last = now

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "fuzz"
        write_variants(source, variants)
        storage = StorageResource(base_uri=str(Path(tmp) / "store"))
        started = time.perf_counter()
        with DagsterInstance.ephemeral() as instance:
            result = run_batch(instance, storage, "fuzz", source, max_quarantine_rate=1.0, doc_timeout_s=60.0)
        graph_s = time.perf_counter() - started
        account = account_batch(storage, "fuzz")
        quarantined = {r["source_uri"].rsplit("/", 1)[-1]: r for r in read_quarantine(storage, "fuzz").to_pylist()}
        records = {r["meta"]["ori_meta"]["filename"]: r["quality_signals"] for r in read_records(storage)}

    rows: dict[str, dict] = defaultdict(lambda: {"n": 0, "converted": 0, "reasons": Counter(), "s": 0.0, "text": 0,
                                                 "text_lost": 0, "images_skipped": 0, "pages_failed": 0})
    for v in variants:
        row = rows[v.kind]
        row["n"] += 1
        row["s"] += parse_s.get(v.name, 0.0)
        has_text = v.name.endswith(".pdf") and mupdf_has_text(v.data)
        row["text"] += has_text
        if v.name in records:
            row["converted"] += 1
            row["images_skipped"] += records[v.name].get("images_skipped", 0)
            row["pages_failed"] += records[v.name].get("pages_failed", 0)
        else:
            q = quarantined.get(v.name)
            row["reasons"][f"{q['stage']}:{q['reason']}" if q else "missing"] += 1
            row["text_lost"] += has_text
    print(f"seed {seed}, {pdf} PDF + {markup} markup variants; run success={result.success}, "
          f"balanced={account.balanced}; graph {graph_s:.1f} s = {graph_s / max(1, len(variants)):.3f} s/doc")
    print("| kind | variants | converted | quarantined (stage:reason) | MuPDF text | text not converted "
          "| images skipped | pages failed | s/doc (parse) |\n|---|---|---|---|---|---|---|---|---|")
    for kind, row in rows.items():
        reasons = ", ".join(f"{k} {n}" for k, n in sorted(row["reasons"].items())) or "-"
        print(f"| {kind} | {row['n']} | {row['converted']} | {reasons} | {row['text']} | {row['text_lost']} "
              f"| {row['images_skipped']} | {row['pages_failed']} | {row['s'] / row['n']:.3f} |")
    for name, q in sorted(quarantined.items()):
        print(f"  {name}: {q['stage']}:{q['reason']}: {q['message'][:140]}")


if __name__ == "__main__":
    _main()
