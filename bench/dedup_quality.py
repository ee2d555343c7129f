"""Duplicate clusters on a dev corpus of known near-duplicates: precision and recall per threshold, and
agreement with datatrove's MinHash deduplication on the same documents, documents/s of both in one run.

    python3 -m bench.dedup_quality [--datatrove-python /work/venv-datatrove/bin/python] [--cache FILE]
                                   [--out bench/RESULTS.md]

The corpus (``bench/dedup_corpus.py``): ``corpus/web`` pages as the project converts them, plus edited
copies with known groups. The documents are split over two batches (alternating), so every cluster that
spans them was found across batches. Pair precision/recall: over all pairs of documents, a pair is
predicted when both are in one cluster and true when both come from one page. Recall by kind: the share
of copies of that kind that end in their page's cluster.

datatrove runs in its own virtual environment (it is not a project dependency), with its defaults
(5-grams, 14 buckets x 8 hashes, no verification), through its own LocalPipelineExecutor, one task per
stage as on one core; its time covers its stages 1-3 (signatures, buckets, clusters).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from bench.dedup_corpus import KINDS, DevDocument, build, cluster_texts
from bench.report import write_section
from pin_assets.core.dedup.lsh import lsh_params

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
HEADING = "Duplicate detection quality (`python3 -m bench.dedup_quality`)"
RESULTS = Path(__file__).with_name("RESULTS.md")


def _pairs(labels: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for doc, label in labels.items():
        groups[label].append(doc)
    return {(a, b) for members in groups.values() for i, a in enumerate(sorted(members))
            for b in sorted(members)[i + 1:]}


def score(docs: list[DevDocument], predicted: dict[str, str]) -> dict[str, float]:
    """Pair precision/recall/F1 against the known groups, and recall of each kind of copy."""
    truth = _pairs({d.doc_id: d.group for d in docs})
    labels = {d.doc_id: predicted.get(d.doc_id, d.doc_id) for d in docs}
    found = _pairs(labels)
    tp = len(truth & found)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(truth) if truth else 1.0
    out = {"pairs_predicted": len(found), "precision": precision, "recall": recall,
           "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0}
    for kind in KINDS:
        copies = [d for d in docs if d.kind == kind]
        out[kind] = sum(labels[d.doc_id] == labels[d.group] for d in copies) / len(copies) if copies else 0.0
    return out


def agreement(a: dict[str, str], b: dict[str, str], docs: list[DevDocument]) -> tuple[float, float]:
    """(Jaccard of the two sets of same-cluster pairs, share of clusters found identically by both)."""
    la = {d.doc_id: a.get(d.doc_id, d.doc_id) for d in docs}
    lb = {d.doc_id: b.get(d.doc_id, d.doc_id) for d in docs}
    pa_, pb = _pairs(la), _pairs(lb)
    pairs = len(pa_ & pb) / len(pa_ | pb) if pa_ | pb else 1.0

    def clusters(labels: dict[str, str]) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = defaultdict(set)
        for doc, label in labels.items():
            groups[label].add(doc)
        return {frozenset(g) for g in groups.values() if len(g) > 1}

    ca, cb = clusters(la), clusters(lb)
    return pairs, len(ca & cb) / len(ca | cb) if ca | cb else 1.0


def ours(docs: list[DevDocument], folder: Path, threshold: float, bands: int | None = None,
         rows: int | None = None) -> tuple[dict[str, str], float]:
    """Cluster label per clustered document and the seconds taken, signatures included."""
    batches = {"a": [(d.doc_id, d.text) for d in docs[0::2]], "b": [(d.doc_id, d.text) for d in docs[1::2]]}
    started = time.perf_counter()
    members = cluster_texts(folder, batches, threshold, bands, rows).members
    seconds = time.perf_counter() - started
    return dict(zip(members.column("doc_id").to_pylist(), members.column("duplicate_cluster").to_pylist(),
                    strict=True)), seconds


def library_speed(docs: list[DevDocument]) -> list[str]:
    """rensa against datasketch on the same shingle sets: documents/s of hashing and error of the Jaccard estimate."""
    from datasketch import MinHash
    from rensa import RMinHash

    from pin_assets.core.dedup.text import SCHEME, normalized_words, shingles

    sets = [shingles(normalized_words(d.text), SCHEME.ngram) for d in docs]
    sets = [s for s in sets if s]
    timings = {}
    for name in ("rensa", "datasketch"):
        started = time.perf_counter()
        for tokens in sets:
            if name == "rensa":
                sketch = RMinHash(num_perm=SCHEME.num_perm, seed=SCHEME.seed)
                sketch.update(tokens)
                sketch.digest()
            else:
                ds = MinHash(num_perm=SCHEME.num_perm, seed=SCHEME.seed)
                ds.update_batch([t.encode() for t in tokens])
        timings[name] = len(sets) / (time.perf_counter() - started)
    errors: dict[str, list[float]] = {"rensa": [], "datasketch": []}
    by_id = {d.doc_id: d for d in docs}
    for d in docs:
        if d.kind == "base" or d.group not in by_id:
            continue
        a = set(shingles(normalized_words(by_id[d.group].text), SCHEME.ngram))
        b = set(shingles(normalized_words(d.text), SCHEME.ngram))
        if not a or not b:
            continue
        exact = len(a & b) / len(a | b)
        ra, rb = RMinHash(SCHEME.num_perm, SCHEME.seed), RMinHash(SCHEME.num_perm, SCHEME.seed)
        ra.update(list(a))
        rb.update(list(b))
        da, db = MinHash(num_perm=SCHEME.num_perm, seed=1), MinHash(num_perm=SCHEME.num_perm, seed=1)
        da.update_batch([t.encode() for t in a])
        db.update_batch([t.encode() for t in b])
        errors["rensa"].append(ra.jaccard(rb) - exact)
        errors["datasketch"].append(da.jaccard(db) - exact)
    rmse = {k: (sum(e * e for e in v) / len(v)) ** 0.5 for k, v in errors.items()}
    return [f"MinHash library on the same {len(sets)} shingle sets (128 permutations): rensa RMinHash "
            f"{timings['rensa']:,.0f} documents/s, datasketch MinHash.update_batch {timings['datasketch']:,.0f} "
            f"documents/s ({timings['rensa'] / timings['datasketch']:.0f}x); error of the Jaccard estimate against "
            f"the exact Jaccard on {len(errors['rensa'])} page/copy pairs, RMSE: rensa {rmse['rensa']:.3f}, "
            f"datasketch {rmse['datasketch']:.3f}"]


def datatrove(docs: list[DevDocument], python: Path, folder: Path) -> tuple[dict[str, str], float, str]:
    source = folder / "docs.jsonl"
    source.write_text("\n".join(json.dumps({"id": d.doc_id, "text": d.text}) for d in docs) + "\n", encoding="utf-8")
    out = folder / "datatrove.json"
    runner = Path(__file__).with_name("dedup_datatrove_run.py")
    subprocess.run([str(python), str(runner), str(source), str(folder / "work"), str(out)], check=True,
                   capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    result = json.loads(out.read_text())
    labels = {doc_id: f"dt{c}" for doc_id, c in result["clusters"].items()}
    return labels, result["seconds"], result["config"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.dedup_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--datatrove-python", type=Path, default=Path("/work/venv-datatrove/bin/python"))
    parser.add_argument("--cache", type=Path, default=None, help="JSON file keeping the built dev corpus")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load = os.getloadavg()
    built = time.perf_counter()
    docs = build(cache=args.cache, progress=True)
    build_seconds = time.perf_counter() - built
    kinds = Counter(d.kind for d in docs)
    header = ("| engine | setting | docs/s | pairs | precision | recall | F1 | "
              + " | ".join(k.replace("_", " ") for k in KINDS) + " |")
    lines = [header, "|" + " --- |" * (7 + len(KINDS))]

    def row(engine: str, setting: str, seconds: float, s: dict[str, float]) -> str:
        return (f"| {engine} | {setting} | {len(docs) / seconds:,.0f} | {s['pairs_predicted']} | {s['precision']:.3f} "
                f"| {s['recall']:.3f} | {s['f1']:.3f} | " + " | ".join(f"{s[k]:.2f}" for k in KINDS) + " |")

    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="pin-dedup-q-") as tmp:
        for t in THRESHOLDS:
            folder = Path(tmp) / f"t{t}"
            folder.mkdir()
            labels, seconds = ours(docs, folder, t)
            results[f"{t}"] = labels
            b, r = lsh_params(t)
            lines.append(row("pin-factory", f"t={t} ({b}x{r}, verified)", seconds, score(docs, labels)))
        folder = Path(tmp) / "dt-like"
        folder.mkdir()
        like, like_seconds = ours(docs, folder, 0.5, 14, 8)  # datatrove's bands; verification at 0.5 only
        lines.append(row("pin-factory", "14x8, verified at 0.5 (datatrove's bands)", like_seconds, score(docs, like)))
        notes = library_speed(docs)
        notes += [f"dev corpus: {len(docs)} documents ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}), "
                 f"built in {build_seconds:.0f} s; load average at start {load[0]:.1f} / {load[1]:.1f} on "
                 f"{os.cpu_count()} cores"]
        if args.datatrove_python.exists():
            folder = Path(tmp) / "dt"
            folder.mkdir()
            dt, dt_seconds, dt_config = datatrove(docs, args.datatrove_python, folder)
            lines.append(row("datatrove", f"defaults ({dt_config})", dt_seconds, score(docs, dt)))
            for name, labels in (("t=0.7 (14x9, verified)", results["0.7"]),
                                 ("14x8, verified at 0.5", like)):
                pairs, clusters = agreement(labels, dt, docs)
                notes.append(f"agreement with datatrove, pin-factory {name}: same-cluster pairs Jaccard "
                             f"{pairs:.3f}, identical clusters {clusters:.3f}")
        else:
            notes.append(f"datatrove not run: no interpreter at {args.datatrove_python}")
    table = "\n".join(lines)
    print(table)
    for note in notes:
        print("-", note)
    intro = ["Dev corpus of known near-duplicates from `corpus/web` (see `bench/dedup_corpus.py`); recall by "
             "kind = share of copies of that kind clustered with their page. docs/s: text to clusters, "
             "signatures included, both engines in the same run, one process each."]
    write_section(args.out, HEADING, intro, table, notes)


if __name__ == "__main__":
    main()
