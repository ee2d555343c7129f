"""Duplicate detection at corpus scale: signatures and clustering of N, 4N and 16N synthetic documents.

    python3 -m bench.dedup_scale [--n 100000] [--out bench/RESULTS.md] [--work DIR]

16 batches of N synthetic documents are signed once, batch by batch (each batch is what the signals stage
writes for one partition): signing time per document is measured per batch. Each batch's bucket index is
built once. Clustering then runs over the first 1, 4 and 16 batches (N, 4N, 16N documents), each in a fresh
process so its peak RSS is its own; the larger runs reuse the smaller runs' batches unchanged, as adding
batches does in the pipeline.

Documents: 30-60 words (short web documents; signing time grows with length) drawn from a Zipf-like
vocabulary of 50,000 words; per batch 3% are exact copies and 3% near copies (one or two words appended)
of random earlier documents, any batch. Signing and indexing run two batches at a time (two processes).
Reported per phase: wall seconds, CPU seconds (user + system of the process), CPU microseconds per
document, peak RSS, and for clustering the bucket entries streamed, candidate pairs, clusters and duplicates.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.report import write_section
from pin_assets.core.dedup.clusters import BatchInput, ClusterSettings, find_clusters
from pin_assets.core.dedup.index import IndexInfo, build_index, index_name
from pin_assets.core.dedup.lsh import lsh_params
from pin_assets.core.dedup.signatures import SignatureWriter

HEADING = "Duplicate detection at corpus scale (`python3 -m bench.dedup_scale`)"
RESULTS = Path(__file__).with_name("RESULTS.md")
VOCABULARY = 50_000
COPY_SHARE = 0.03
NEAR_SHARE = 0.03
THRESHOLD = 0.8


def _vocabulary() -> tuple[np.ndarray, np.ndarray]:
    words = np.array([f"w{i:x}" for i in range(VOCABULARY)])
    weights = 1.0 / np.arange(1, VOCABULARY + 1)
    return words, weights / weights.sum()


def document(index: int, words: np.ndarray, cdf: np.ndarray) -> str:
    """Synthetic document number ``index``: the same text for the same index on every call."""
    rng = np.random.default_rng(index)
    ids = np.searchsorted(cdf, rng.random(int(rng.integers(30, 61))))
    return " ".join(words[np.minimum(ids, VOCABULARY - 1)])


def sign_batch(path: Path, batch: int, n: int) -> None:
    """Write batch ``batch`` (documents ``batch*n .. batch*n+n-1``), with copies of earlier documents."""
    words, p = _vocabulary()
    cdf = np.cumsum(p)
    rng = np.random.default_rng(1_000_000 + batch)
    with SignatureWriter(path) as writer:
        for i in range(batch * n, (batch + 1) * n):
            roll = rng.random()
            if i > 0 and roll < COPY_SHARE + NEAR_SHARE:
                text = document(int(rng.integers(0, i)), words, cdf)
                if roll >= COPY_SHARE:
                    extra = words[rng.integers(0, VOCABULARY, int(rng.integers(1, 3)))]
                    text = " ".join([text, *extra])
            else:
                text = document(i, words, cdf)
            writer.add(f"doc{i:09d}", f"src{batch % 3}", text)


def _usage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


def phase(args: argparse.Namespace) -> dict[str, float]:
    """One measured step in this process: ``sign`` or ``index`` one batch, or ``cluster`` the first k."""
    work, n = args.work, args.n
    bands, rows = lsh_params(THRESHOLD)
    started, before = time.perf_counter(), _usage()
    out: dict[str, float] = {}
    if args.phase == "sign":
        sign_batch(work / f"b{args.batch:02d}.parquet", args.batch, n)
        out["documents"] = n
    elif args.phase == "index":
        build_index(work / f"b{args.batch:02d}.parquet", work / f"b{args.batch:02d}.{index_name(bands, rows)}",
                    bands, rows)
        out["documents"] = n
    else:
        inputs = []
        for b in range(args.batches):
            sig, index = work / f"b{b:02d}.parquet", work / f"b{b:02d}.{index_name(bands, rows)}"
            info = IndexInfo.from_file(pq.ParquetFile(str(index)))
            inputs.append(BatchInput(f"b{b:02d}", lambda p=sig: pa.OSFile(str(p)),
                                     lambda p=index: pa.OSFile(str(p)), info))
        result = find_clusters(inputs, ClusterSettings(THRESHOLD, bands, rows, chunk_entries=args.chunk))
        out.update({k: float(v) for k, v in result.totals.items()})
        out["bucket_entries"] = float(sum(sum(i.info.entries) for i in inputs))
    after = _usage()
    out.update({"wall_s": time.perf_counter() - started, "cpu_s": after["cpu_s"] - before["cpu_s"],
                "peak_rss_mb": after["peak_rss_mb"]})
    return out


def _child(args: argparse.Namespace, *extra: str) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.dedup_scale", "--n", str(args.n), "--work", str(args.work),
               "--chunk", str(args.chunk), *extra]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.dedup_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--chunk", type=int, default=2_000_000, help="bucket entries merged at once")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--phase", choices=("sign", "index", "cluster"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--batches", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args)))
        return
    with tempfile.TemporaryDirectory(prefix="pin-dedup-scale-", dir=args.work) as tmp:
        args.work = Path(tmp)
        loads = [os.getloadavg()[0]]
        with ThreadPoolExecutor(2) as pool:
            sign = list(pool.map(lambda b: _child(args, "--phase", "sign", "--batch", str(b)), range(16)))
            index = list(pool.map(lambda b: _child(args, "--phase", "index", "--batch", str(b)), range(16)))
        loads.append(os.getloadavg()[0])
        clusters = {k: _child(args, "--phase", "cluster", "--batches", str(k)) for k in (1, 4, 16)}
        loads.append(os.getloadavg()[0])
        disk = sum(p.stat().st_size for p in args.work.iterdir())
    n = args.n
    lines = ["| step | documents | wall s | CPU s | CPU µs/doc | peak RSS MiB | bucket entries | candidate pairs "
             "| clusters | duplicates |", "|" + " --- |" * 10]

    def per_batch(rows: list[dict[str, float]], name: str, k: int) -> str:
        part = rows[:k]
        wall, cpu = sum(r["wall_s"] for r in part) / 2, sum(r["cpu_s"] for r in part)  # two at a time
        rss = max(r["peak_rss_mb"] for r in part)
        return (f"| {name} ({k} batch{'es' if k > 1 else ''}) | {k * n:,} | {wall:.1f} | {cpu:.1f} | "
                f"{cpu / (k * n) * 1e6:.1f} | {rss:.0f} | | | | |")

    for k in (1, 4, 16):
        lines.append(per_batch(sign, "signatures", k))
    for k in (1, 4, 16):
        lines.append(per_batch(index, "bucket index", k))
    for k, r in clusters.items():
        lines.append(f"| clustering | {k * n:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                     f"{r['cpu_s'] / (k * n) * 1e6:.1f} | {r['peak_rss_mb']:.0f} | {r['bucket_entries']:,.0f} | "
                     f"{r['distinct_candidate_pairs']:,.0f} | {r['clusters']:,.0f} | {r['duplicates']:,.0f} |")
    table = "\n".join(lines)
    rss = [clusters[k]["peak_rss_mb"] for k in (1, 4, 16)]
    notes = [f"N = {n:,}; threshold {THRESHOLD} ({'x'.join(map(str, lsh_params(THRESHOLD)))} bands x rows, plus the "
             f"exact-hash band); {args.chunk:,} bucket entries merged at once; files on disk at 16N: "
             f"{disk / 2**20:,.0f} MiB",
             f"clustering peak RSS 1N -> 16N: {rss[0]:.0f} -> {rss[2]:.0f} MiB ({rss[2] / rss[0]:.2f}x for 16x the "
             "documents and bucket entries)",
             f"load average (1 min) at start / after signing and indexing / at the end: "
             f"{' / '.join(f'{x:.1f}' for x in loads)} on {os.cpu_count()} cores shared with other work; CPU "
             "time per document is the figure to compare, wall time moves with the load"]
    print(table)
    for note in notes:
        print("-", note)
    intro = ["Signatures per batch (what the signals stage adds per document), the per-batch bucket index, "
             "and the corpus-wide clustering over N, 4N and 16N documents, each step in its own process."]
    write_section(args.out, HEADING, intro, table, notes)


if __name__ == "__main__":
    main()
