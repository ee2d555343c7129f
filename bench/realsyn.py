"""RealSyn at corpus scale: the sharded index on N, 4N, 16N synthetic sentences, and the CPU text encoders.

Scale: each corpus size runs in a fresh process (:mod:`bench.realsyn_worker`) so its peak RSS is its own;
the sizes are interleaved within each run (N, 4N, 16N, N, 4N, 16N, ...). Reported per size: the peak RSS
after each stage (the process's high-water mark, so it only grows), microseconds per sentence per stage
and in all, recall@3 of the sharded retrieval against exact search, and bytes per stored vector; then the
16N / N ratios the issue sets targets for, and one run of the product-quantized codec at N beside fp16's
numbers at N (the reason fp16 is the default).

Encoder: the packaged MiniLM on PyTorch, ONNX Runtime and OpenVINO in this process, on the same real
sentences (the sample batch's, split as RealSyn splits them), interleaved; each exported runtime's
vectors are compared row by row with PyTorch's (cosine), and the row for ``auto`` says which one it picks.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.report import Row
from bench.timing import interleaved

STAGES = ("centroids", "shards", "retrieval", "balance")
SCALES = (1, 4, 16)
RSS_TARGET = 1.3
TIME_TARGET = 1.2
RECALL_TARGET = 0.95
RUNTIME_LABELS = {"torch": "PyTorch", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}
QUICK_WORKER_ARGS = ["--batch", "2000", "--sample", "4000", "--clusters", "64", "--queries", "500",
                     "--recall-queries", "100", "--image-batch", "1000", "--image-clusters", "32"]


def _worker(sentences: int, folder: Path, extra: list[str]) -> dict:
    """One corpus size in a fresh interpreter; its shards are deleted after, so disk stays bounded."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.realsyn_worker", "--sentences", str(sentences), "--folder", str(folder),
             *extra], capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"realsyn worker ({sentences} sentences) failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        for shard in folder.glob("shard-*.faiss"):
            shard.unlink()


def _us_per_sentence(result: dict, stage: str | None = None, clock: str = "seconds",
                     skip: tuple[str, ...] = ()) -> float:
    """Wall (``seconds``) or CPU (``cpu_seconds``) microseconds per sentence, of one stage or of all but ``skip``."""
    spent = result[clock]
    seconds = spent[stage] if stage else sum(v for k, v in spent.items() if k not in skip)
    return 1e6 * seconds / result["sentences"]


def scale(n: int, runs: int, scratch: Path, quick: bool = False) -> tuple[list[Row], list[str]]:
    """Rows for N, 4N, 16N (medians over ``runs`` interleaved runs), the 16N / N ratios, and PQ vs fp16."""
    extra = QUICK_WORKER_ARGS if quick else []
    sizes = [n * factor for factor in SCALES]
    results: dict[int, list[dict]] = {size: [] for size in sizes}
    for run in range(runs):
        for size in sizes:
            print(f"bench: {time.strftime('%H:%M:%S')} realsyn scale run {run + 1}/{runs}, {size:,} sentences",
                  file=sys.stderr, flush=True)
            results[size].append(_worker(size, scratch / "realsyn-shards", extra))
    rows: list[Row] = []
    medians: dict[int, dict[str, float]] = {}
    for size in sizes:
        done = results[size]
        first = done[0]
        peak = {stage: statistics.median(r["peak_rss_mib"][stage] for r in done) for stage in ("start", *STAGES)}
        per_stage = {stage: statistics.median(_us_per_sentence(r, stage) for r in done) for stage in STAGES}
        total = statistics.median(_us_per_sentence(r) for r in done)
        cpu_stage = {stage: statistics.median(_us_per_sentence(r, stage, "cpu_seconds") for r in done)
                     for stage in STAGES}
        cpu_total = statistics.median(_us_per_sentence(r, clock="cpu_seconds") for r in done)
        recall = statistics.median(r["recall_at_3"] for r in done)
        medians[size] = {"rss": peak["balance"], "us": total, "cpu": cpu_total, "recall": recall,
                         "bytes": first["bytes_per_vector"]}
        label = f"realsyn scale: {size:,} sentences"
        rows.append(Row(f"{label}, peak RSS", peak["balance"], "MiB",
                        f"{first['batches']} shards of {first['sentences'] // first['batches']:,}; after stage: "
                        + ", ".join(f"{stage} {peak[stage]:,.0f}" for stage in STAGES)
                        + f" (imports {peak['start']:,.0f})"))
        rows.append(Row(f"{label}, time per sentence", total, "µs/sentence",
                        ", ".join(f"{stage} {per_stage[stage]:.1f}" for stage in STAGES)
                        + f"; {first['images']:,} images balanced, {first['queries']:,} retrieved"))
        rows.append(Row(f"{label}, CPU time per sentence", cpu_total, "µs/sentence",
                        ", ".join(f"{stage} {cpu_stage[stage]:.1f}" for stage in STAGES)
                        + "; all threads of the worker"))
        rows.append(Row(f"{label}, recall@3 vs exact", recall, "fraction",
                        f"{first['clusters']} clusters, nprobe {first['nprobe']}, {first['codec']} "
                        f"{first['bytes_per_vector']:.0f} bytes/vector", f">= {RECALL_TARGET}",
                        recall >= RECALL_TARGET))
    small, large = medians[sizes[0]], medians[sizes[-1]]
    rss_ratio = large["rss"] / small["rss"]
    rows.append(Row("realsyn scale: peak RSS 16N / N", rss_ratio, "x",
                    f"{small['rss']:,.0f} -> {large['rss']:,.0f} MiB, whole worker process",
                    f"<= {RSS_TARGET}", rss_ratio <= RSS_TARGET))
    pairs = list(zip(results[sizes[0]], results[sizes[-1]], strict=True))
    time_ratio = statistics.median(_us_per_sentence(b) / _us_per_sentence(a) for a, b in pairs)
    rows.append(Row("realsyn scale: time per sentence 16N / N", time_ratio, "x",
                    f"{small['us']:.1f} -> {large['us']:.1f} µs/sentence wall; moves with the machine's load",
                    f"<= {TIME_TARGET} (flat)", time_ratio <= TIME_TARGET))
    cpu_ratio = statistics.median(_us_per_sentence(b, clock="cpu_seconds") / _us_per_sentence(a, clock="cpu_seconds")
                                  for a, b in pairs)
    growing = statistics.median(
        _us_per_sentence(b, clock="cpu_seconds", skip=("centroids",))
        / _us_per_sentence(a, clock="cpu_seconds", skip=("centroids",)) for a, b in pairs)
    rows.append(Row("realsyn scale: CPU time per sentence 16N / N", cpu_ratio, "x",
                    f"{small['cpu']:.1f} -> {large['cpu']:.1f} µs/sentence; without the centroids stage (a fixed "
                    f"cost: its sample is bounded) {growing:.2f}x", f"<= {TIME_TARGET} (flat)",
                    cpu_ratio <= TIME_TARGET))
    pq = _worker(sizes[0], scratch / "realsyn-shards", [*extra, "--codec", "pq"])
    rows.append(Row(f"realsyn codec at {sizes[0]:,}: fp16 (default)", small["bytes"], "bytes/vector",
                    f"recall@3 {small['recall']:.3f}"))
    rows.append(Row(f"realsyn codec at {sizes[0]:,}: PQ", pq["bytes_per_vector"], "bytes/vector",
                    f"recall@3 {pq['recall_at_3']:.3f}, one run; {_us_per_sentence(pq):.1f} µs/sentence "
                    f"vs fp16 {small['us']:.1f}"))
    notes = [f"realsyn scale: N = {n:,} synthetic clustered sentences (384 dims), median of {runs} run(s), "
             f"sizes interleaved within each run; each size a fresh process"]
    return rows, notes


def sample_sentences(limit: int) -> list[str]:
    """Up to ``limit`` sentences of the sample batch, as RealSyn splits them (real text of real lengths)."""
    from bench.sources import sample_documents
    from pin_assets.core.realsyn.sentences import split_sentences

    sentences = [seg.text for _, _, parsed in sample_documents() for seg in split_sentences(parsed.markdown)]
    return sentences[:limit]


def encoders(runs: int, warmup: int, max_sentences: int) -> tuple[list[Row], list[str]]:
    """sentences/s of each CPU runtime in the same run, their cosine to PyTorch's, and ``auto``'s pick."""
    from resources.embeddings import MiniLMEncoder, pick_runtime
    from resources.text_runtimes import RUNTIMES, default_cache_dir

    sentences = sample_sentences(max_sentences)
    cached = any(default_cache_dir().glob("*-onnx/model.onnx"))
    began = time.perf_counter()
    models = {runtime: MiniLMEncoder(device="cpu", runtime=runtime) for runtime in RUNTIMES}
    loading = time.perf_counter() - began
    vectors = {runtime: model.encode_texts(sentences) for runtime, model in models.items()}

    def timer(model: MiniLMEncoder):
        def encode() -> float:
            start = time.perf_counter()
            model.encode_texts(sentences)
            return time.perf_counter() - start

        return encode

    samples = interleaved({runtime: timer(model) for runtime, model in models.items()}, runs, warmup)
    chosen = pick_runtime("auto", "cpu")
    cosine = {runtime: np.sum(vectors[runtime] * vectors["torch"], axis=1) for runtime in RUNTIMES}
    mean_chars = sum(map(len, sentences)) / max(1, len(sentences))
    rows = []
    for runtime in RUNTIMES:
        how = f"{len(sentences)} sample sentences, {mean_chars:.0f} chars mean, batch 64; {samples.spread(runtime)}"
        if runtime != "torch":
            how += f"; cosine to PyTorch min {cosine[runtime].min():.4f}, mean {cosine[runtime].mean():.4f}"
        rows.append(Row(f"realsyn encoder: {RUNTIME_LABELS[runtime]}", samples.rate(runtime, len(sentences)),
                        "sentences/s", how))
    eligible = [r for r in RUNTIMES if cosine[r].min() >= 0.99]
    fastest = min(eligible, key=samples.median)
    for runtime in RUNTIMES[1:]:
        speedup = samples.ratio("torch", runtime)
        picked = runtime == chosen
        rows.append(Row(f"realsyn encoder: {RUNTIME_LABELS[runtime]} vs PyTorch{' (auto picks it)' if picked else ''}",
                        speedup, "x faster", f"time ratio per run; min cosine {cosine[runtime].min():.4f}",
                        "fastest with min cosine >= 0.99" if picked else "",
                        (runtime == fastest) if picked else None))
    notes = [f"realsyn encoder: auto on CPU picks {chosen}; loading the three runtimes took {loading:.0f} s "
             f"({'graph already exported' if cached else 'including the one-off ONNX export'} in "
             f"{default_cache_dir()})"]
    return rows, notes
