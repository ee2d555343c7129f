"""One corpus size of the RealSyn scale bench, in a fresh process so its peak RSS is its own.

    python3 -m bench.realsyn_worker --sentences 100000 --folder /tmp/x   prints one JSON object

Synthetic clustered sentence vectors stand in for encoded sentences (the encoder is measured apart):
topics with Zipf-like frequencies, each vector its topic's centre plus noise, L2-normalized. Batches are
generated on demand from (seed, batch number), as the assets read one batch's embeddings at a time. The
stages are the assets' core calls: centroids on a bounded sample, one shard per batch written to disk,
streaming retrieval over the shards, two-pass balance over the images; then recall@k of the retrieval
against exact search (also streamed, one batch at a time).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from pin_assets.core.realsyn import shards
from pin_assets.core.realsyn.balance import StreamingCapSampler, cap_for_target, kept_total
from pin_assets.core.realsyn.retrieval import kmeans, recall_at_k

DIM = 384
TOPICS = 2000


def _topics(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 0])
    centres = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = 1.0 / np.arange(1, TOPICS + 1) ** 0.8
    return centres, weights / weights.sum()


def clustered(n: int, seed: int, stream: int, noise: float = 0.045) -> np.ndarray:
    """``n`` normalized vectors of topic centre + Gaussian noise; the same (seed, stream) gives the same rows."""
    centres, weights = _topics(seed)
    rng = np.random.default_rng([seed, 1, stream])
    topic = rng.choice(TOPICS, size=n, p=weights)
    x = centres[topic] + noise * rng.standard_normal((n, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args: argparse.Namespace) -> dict:
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    n_batches = -(-args.sentences // args.batch)
    sizes = {f"b{i:05d}": min(args.batch, args.sentences - i * args.batch) for i in range(n_batches)}
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}  # all threads of the process: what a loaded, shared machine leaves alone
    rss: dict[str, float] = {"start": peak_rss_mib()}

    def batch_vectors(i: int) -> np.ndarray:
        return clustered(sizes[f"b{i:05d}"], args.seed, 100 + i)

    # Stage 1: centroids from a bounded sample drawn across batches.
    began, cpu_began = time.perf_counter(), time.process_time()
    picks = shards.sample_positions(sizes, args.sample, seed=args.seed)
    sample = np.concatenate([batch_vectors(i)[picks[f"b{i:05d}"]] for i in range(n_batches)])
    template = shards.train_template(sample, args.clusters, codec=args.codec, pq_m=args.pq_m, seed=args.seed)
    del sample
    seconds["centroids"] = time.perf_counter() - began
    cpu_seconds["centroids"] = time.process_time() - cpu_began
    rss["centroids"] = peak_rss_mib()

    # Stage 2: one shard per batch, written to disk.
    began, cpu_began = time.perf_counter(), time.process_time()
    shard_bytes = 0
    for i in range(n_batches):
        data = shards.serialize(shards.build_shard(template, batch_vectors(i)))
        (folder / f"shard-{i:05d}.faiss").write_bytes(data)
        shard_bytes += len(data)
        del data
    seconds["shards"] = time.perf_counter() - began
    cpu_seconds["shards"] = time.process_time() - cpu_began
    rss["shards"] = peak_rss_mib()

    # Stage 3: a fixed batch of images retrieved across every shard, streaming.
    queries = clustered(args.queries, args.seed, 1)
    began, cpu_began = time.perf_counter(), time.process_time()
    loaded = (shards.deserialize((folder / f"shard-{i:05d}.faiss").read_bytes()) for i in range(n_batches))
    found = shards.search_shards(template, loaded, queries, args.top_k, args.nprobe)
    seconds["retrieval"] = time.perf_counter() - began
    cpu_seconds["retrieval"] = time.process_time() - cpu_began
    rss["retrieval"] = peak_rss_mib()

    # Stage 4: balance the images (one per 10 sentences) in two streaming passes.
    n_images = max(1, args.sentences // 10)
    image_batches = [(s, min(args.image_batch, n_images - s)) for s in range(0, n_images, args.image_batch)]
    began, cpu_began = time.perf_counter(), time.process_time()
    sample_picks = shards.sample_positions({f"i{j:05d}": c for j, (_, c) in enumerate(image_batches)},
                                           args.sample, seed=args.seed)
    image_sample = np.concatenate([clustered(c, args.seed, 10_000 + j)[sample_picks[f"i{j:05d}"]]
                                   for j, (_, c) in enumerate(image_batches)])
    image_centres, _ = kmeans(image_sample, args.image_clusters, seed=args.seed)
    del image_sample
    image_index = shards.flat_index(image_centres)
    counts = np.zeros(len(image_centres), dtype=np.int64)
    for j, (_, c) in enumerate(image_batches):
        counts += np.bincount(shards.nearest(image_index, clustered(c, args.seed, 10_000 + j)),
                              minlength=len(image_centres))
    cap = cap_for_target(counts.tolist(), n_images // 2)
    sampler = StreamingCapSampler(counts, cap, args.seed)
    kept = 0
    for j, (_, c) in enumerate(image_batches):
        kept += len(sampler.select(shards.nearest(image_index, clustered(c, args.seed, 10_000 + j))))
    seconds["balance"] = time.perf_counter() - began
    cpu_seconds["balance"] = time.process_time() - cpu_began
    rss["balance"] = peak_rss_mib()
    if kept != kept_total(counts.tolist(), cap):
        raise AssertionError(f"balance kept {kept}, expected {kept_total(counts.tolist(), cap)}")

    # Recall of the stages' retrieval against exact search, for the first queries (not part of the stages).
    checked = min(args.recall_queries, args.queries)
    exact = shards.TopK(checked, args.top_k)
    offsets = np.concatenate([[0], np.cumsum([sizes[f"b{i:05d}"] for i in range(n_batches)])])
    for i in range(n_batches):
        scores = queries[:checked] @ batch_vectors(i).T
        top = np.argsort(-scores, axis=1, kind="stable")[:, : args.top_k]
        exact.add(i, np.take_along_axis(scores, top, axis=1), top)
    truth = np.where(exact.rows >= 0, offsets[np.maximum(exact.shards, 0)] + exact.rows, -1)
    got = np.where(found.rows[:checked] >= 0, offsets[np.maximum(found.shards[:checked], 0)] + found.rows[:checked], -1)
    return {
        "sentences": args.sentences, "batches": n_batches, "images": n_images, "queries": args.queries,
        "clusters": int(template.nlist), "codec": args.codec, "nprobe": args.nprobe, "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mib": rss, "shard_bytes": shard_bytes, "bytes_per_vector": shard_bytes / args.sentences,
        f"recall_at_{args.top_k}": recall_at_k(got, truth), "balanced_kept": kept, "cap": cap,
        "mean_list_length": args.sentences / template.nlist,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, required=True)
    parser.add_argument("--folder", required=True, help="where the shards are written")
    parser.add_argument("--batch", type=int, default=50_000, help="sentences per batch (one shard each)")
    parser.add_argument("--sample", type=int, default=32_000, help="centroid training sample, across batches")
    parser.add_argument("--clusters", type=int, default=512)
    parser.add_argument("--codec", default="fp16", choices=shards.CODECS)
    parser.add_argument("--pq-m", type=int, default=48)
    parser.add_argument("--queries", type=int, default=5000, help="images retrieved (a fixed batch)")
    parser.add_argument("--recall-queries", type=int, default=500)
    parser.add_argument("--nprobe", type=int, default=16)
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--image-batch", type=int, default=5000)
    parser.add_argument("--image-clusters", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    print(json.dumps(run(parser.parse_args())))


if __name__ == "__main__":
    main()
