"""RealSyn core, no Dagster: filters, sentence splitting, dedup, retrieval, balancing, shards, reports."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import webdataset as wds
from PIL import Image, ImageDraw

from pin_assets.core.realsyn import retrieval
from pin_assets.core.realsyn.balance import balanced_sample, cap_for_target, cluster_sizes, kept_total
from pin_assets.core.realsyn.charts import distribution_report
from pin_assets.core.realsyn.corpus import CorpusBuilder, CorpusConfig
from pin_assets.core.realsyn.dedup import (
    HashBandIndex,
    hamming,
    image_phash,
    near_duplicate_groups,
    text_hash,
)
from pin_assets.core.realsyn.filters import ImageFilter, SentenceFilter, clean_sentence, word_entropy
from pin_assets.core.realsyn.sentences import split_sentences, strip_markdown
from pin_assets.core.realsyn.synthetic import build_messages, parse_answer
from pin_assets.core.realsyn.webdataset_writer import write_shards


def png(size: tuple[int, int], seed: int = 0) -> bytes:
    """A picture with structure (gradient, shapes, noise) so perceptual hashes are meaningful."""
    rng = np.random.default_rng(seed)
    w, h = size
    x = np.linspace(0, 255, w)[None, :, None]
    y = np.linspace(0, 255, h)[:, None, None]
    base = (x * rng.uniform(0.2, 1) + y * rng.uniform(0.2, 1)) % 256 * np.ones((1, 1, 3))
    image = Image.fromarray((base + rng.normal(0, 8, (h, w, 3))).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w - 10)), int(rng.integers(0, h - 10))
        draw.ellipse((x0, y0, x0 + w // 3, y0 + h // 3), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def half_size_jpeg(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        small = image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


# --- filters -------------------------------------------------------------------------------------------------


def test_image_filter_on_generated_images() -> None:
    rule = ImageFilter()
    sizes = {name: Image.open(io.BytesIO(png(size))).size for name, size in
             {"thin": (50, 400), "square": (120, 120), "tall": (100, 400)}.items()}
    assert rule.reject_reason(*sizes["thin"]) == "image_too_small"
    assert rule.reject_reason(*sizes["square"]) is None
    assert rule.reject_reason(*sizes["tall"]) == "image_aspect_ratio"
    assert ImageFilter(min_side=100, max_aspect=4.0).reject_reason(*sizes["tall"]) is None


def test_sentence_cleaning_and_filters() -> None:
    cleaned = clean_sentence("Read the docs at https://example.org/page?x=1 now 😀🚀 please, www.foo.com thanks")
    assert cleaned == "Read the docs at now please, thanks"
    rule = SentenceFilter()
    assert rule.reject_reason("two words") == "sentence_too_short"
    assert rule.reject_reason(" ".join(f"word{i}" for i in range(90))) == "sentence_too_long"
    assert rule.reject_reason("a a a a") == "sentence_low_entropy"
    assert rule.reject_reason("The pump moves water up the hill.") is None
    assert word_entropy(["a", "a", "a", "a"]) == 0.0
    assert word_entropy(["a", "b"]) == pytest.approx(np.log(2))


def test_sentences_keep_offsets_into_the_markdown() -> None:
    md = (
        "# Engine Parts\n\nThe **piston** moves in the [cylinder](http://x.org/c). See Fig. 2 for details! "
        "![](content_image/abc.png) A valve opens.\n\n| a | b |\n|---|---|\n\n```\ncode line here\n```\n"
        "- first item in the list"
    )
    stripped = strip_markdown(md)
    assert len(stripped) == len(md) and "**" not in stripped and "http" not in stripped and "code" not in stripped
    segments = split_sentences(md)
    assert [s.text for s in segments] == [
        "Engine Parts", "The piston moves in the cylinder.", "See Fig. 2 for details!", "A valve opens.",
        "first item in the list",
    ]
    for segment in segments:  # spans start and end on real characters of the Markdown
        assert md[segment.start] == segment.text[0] and md[segment.end - 1] == segment.text[-1]


# --- dedup ---------------------------------------------------------------------------------------------------


def test_phash_groups_a_half_size_jpeg_copy_with_its_original() -> None:
    original, other = png((320, 240), seed=1), png((320, 240), seed=2)
    copy = half_size_jpeg(original)
    hashes = [image_phash(original), image_phash(other), image_phash(copy)]
    assert hamming(hashes[0], hashes[2]) <= 2
    assert hamming(hashes[0], hashes[1]) > 10
    assert near_duplicate_groups(hashes, threshold=4) == [0, 1, 0]


def test_band_index_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    base = [int(v) for v in rng.integers(-(2**63), 2**63 - 1, 300, dtype=np.int64)]
    # Exactly ``threshold`` flipped bits: the hardest case for the band split (pigeonhole needs threshold + 1).
    planted = [b ^ sum(1 << int(bit) for bit in rng.choice(64, 4, replace=False)) for b in base[:200]]
    index = HashBandIndex(threshold=4)
    for value in base:
        index.add(value)
    for query in planted + base[:20]:
        assert index.near(query) == [i for i, v in enumerate(base) if hamming(v, query) <= 4]


def test_union_find_is_transitive() -> None:
    a = 0
    b = a ^ 0b111  # 3 bits from a
    c = b ^ (0b111 << 8)  # 3 bits from b, 6 from a
    assert near_duplicate_groups([a, c, b], threshold=3) == [0, 0, 0]


def test_sentence_dedup_ignores_case_and_punctuation() -> None:
    assert text_hash("The pump moves water up the hill.") == text_hash("the PUMP moves water, up the hill!!")
    assert text_hash("The pump moves water up the hill.") != text_hash("The pump moves oil up the hill.")


def _builder(images: dict[str, bytes], **kwargs) -> CorpusBuilder:
    return CorpusBuilder("b", CorpusConfig(), images.__getitem__, **kwargs)


def test_corpus_builder_filters_dedups_and_keeps_lineage() -> None:
    pictures = {
        "thin.png": png((50, 400)), "square.png": png((120, 120), 4), "tall.png": png((100, 400)),
        "big.png": png((320, 240), 5), "copy.jpg": half_size_jpeg(png((320, 240), 5)), "bad.png": b"not an image",
    }
    sizes = {name: Image.open(io.BytesIO(d)).size if name != "bad.png" else (200, 200) for name, d in pictures.items()}
    md = (
        "Pumps move water up the hill every day. ![](content_image/thin.png) Valves open and close on demand.\n\n"
        "![](content_image/square.png) ![](content_image/tall.png) PUMPS move water, up the hill every day!\n\n"
        "![](content_image/big.png) Engines turn the shaft slowly. ![](content_image/copy.jpg) "
        "![](content_image/bad.png) Go go go go! Too short."
    )
    builder = _builder(pictures)
    rows = builder.add_document("d" * 64, md, [{"name": n, "width": sizes[n][0], "height": sizes[n][1],
                                                "caption": f"cap {n}"} for n in pictures])
    images = builder.finish_images()
    assert [r["text"] for r in rows] == [
        "Pumps move water up the hill every day.", "Valves open and close on demand.",
        "Engines turn the shaft slowly.",
    ]
    assert rows[1]["prev_sentence_id"] == rows[0]["sentence_id"]
    assert rows[1]["next_sentence_id"] == rows[2]["sentence_id"]
    for row in rows:
        assert md[row["char_start"]:row["char_end"]] == row["text"]
    assert [r["name"] for r in images] == ["square.png", "big.png"]
    square = images[0]
    assert md[square["char_offset"]:].startswith("![](content_image/square.png)")
    assert square["prev_sentence_id"] == rows[1]["sentence_id"] and square["next_sentence_id"] == rows[2]["sentence_id"]
    assert "Valves open" in square["context_before"]
    counts = builder.counts
    assert (counts["image_too_small"], counts["image_aspect_ratio"], counts["image_unreadable"]) == (1, 1, 1)
    assert counts["image_duplicate"] == 1 and counts["sentence_duplicate"] == 1
    assert counts["sentence_low_entropy"] == 1 and counts["sentence_too_short"] == 1

    again = _builder(pictures, seen_text=np.array([r["text_hash"] for r in rows]),
                     seen_images=[r["phash"] for r in images])
    assert again.add_document("e" * 64, md, [{"name": "copy.jpg", "width": 160, "height": 120}]) == []
    assert again.finish_images() == []
    assert again.counts["sentence_duplicate_other_batch"] == 4 and again.counts["image_duplicate_other_batch"] == 1


# --- retrieval -----------------------------------------------------------------------------------------------


def _clustered(n: int, d: int, centres: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, d)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + 0.6 * rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), rng


def test_hierarchical_retrieval_finds_planted_neighbours_and_reports_recall() -> None:
    x, rng = _clustered(4000, 64, 40, seed=0)
    planted = rng.choice(len(x), 300, replace=False)
    queries = x[planted] + 0.05 * rng.normal(size=(300, 64)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    index = retrieval.build_ivf(x, retrieval.auto_clusters(len(x)), seed=0)
    assert index.nlist == 63
    _, exact = retrieval.exact_search(x, queries, 3)
    assert (exact[:, 0] == planted).all()
    _, found = retrieval.ivf_search(index, queries, 3, nprobe=8)
    assert (found[:, 0] == planted).mean() >= 0.97
    assert retrieval.recall_at_k(found, exact) >= 0.9
    _, everything = retrieval.ivf_search(retrieval.deserialize(retrieval.serialize(index)), queries, 3, nprobe=63)
    assert retrieval.recall_at_k(everything, exact) == 1.0
    _, one = retrieval.ivf_search(index, queries, 3, nprobe=1)
    assert retrieval.recall_at_k(one, exact) < retrieval.recall_at_k(found, exact) + 1e-9


def test_cluster_count_scales_with_corpus() -> None:
    assert [retrieval.auto_clusters(n) for n in (0, 1, 4, 100, 20_000)] == [1, 1, 2, 10, 141]
    assert retrieval.auto_clusters(10, requested=50) == 10
    assert retrieval.auto_clusters(400, per_sqrt=0.5) == 10


def test_recall_counts_shared_ids() -> None:
    assert retrieval.recall_at_k(np.array([[1, 2, 3]]), np.array([[3, 2, 9]])) == pytest.approx(2 / 3)


# --- balancing -----------------------------------------------------------------------------------------------


def test_balancing_flattens_a_skewed_distribution_reproducibly() -> None:
    sizes = [1000, 300, 50, 10, 5]
    labels = np.repeat(np.arange(len(sizes)), sizes)
    np.random.default_rng(0).shuffle(labels)
    cap = cap_for_target(sizes, 200)
    assert kept_total(sizes, cap) <= 200 < kept_total(sizes, cap + 1)
    sample = balanced_sample(labels, cap, seed=7)
    after = cluster_sizes(labels[sample], len(sizes))
    assert after.tolist() == [min(s, cap) for s in sizes]
    assert len(set(sample.tolist())) == len(sample)
    assert np.array_equal(sample, balanced_sample(labels, cap, seed=7))
    assert not np.array_equal(sample, balanced_sample(labels, cap, seed=8))
    assert cap_for_target(sizes, 10_000) == 1000 and cap_for_target(sizes, 0) == 1 and cap_for_target([], 5) == 0


def test_distribution_report_has_table_and_histogram() -> None:
    report = distribution_report({"before": np.array([10, 1, 1]), "after": np.array([2, 1, 1])})
    assert "| max | 10 | 2 |" in report and "| statistic | before | after |" in report
    assert report.count("```") == 4 and "#" in report


# --- shards and synthetic text -------------------------------------------------------------------------------


def test_webdataset_shards_read_back(tmp_path: Path) -> None:
    samples = [(f"img-{i}", {"png": png((120, 120), i), "json": json.dumps({"text1": f"t{i}"}).encode(),
                             "txt": f"t{i}".encode()}) for i in range(5)]
    done: dict[int, str] = {}

    def keep(index: int, path: Path) -> None:
        target = tmp_path / f"shard-{index:06d}.tar"
        target.write_bytes(path.read_bytes())
        done[index] = hashlib.sha256(target.read_bytes()).hexdigest()

    (tmp_path / "work").mkdir()
    assert write_shards(iter(samples), tmp_path / "work", keep, max_samples=2) == [0, 0, 1, 1, 2]
    first = dict(done)
    write_shards(iter(samples), tmp_path / "work", keep, max_samples=2)
    assert done == first, "shards are byte-for-byte reproducible"
    urls = [str(tmp_path / f"shard-{i:06d}.tar") for i in range(3)]
    read = list(wds.WebDataset(urls, shardshuffle=False).decode("pil"))
    assert [r["__key__"] for r in read] == [f"img-{i}" for i in range(5)]
    assert read[3]["json"]["text1"] == "t3" and read[3]["png"].size == (120, 120)
    with pytest.raises(ValueError, match="invalid WebDataset key"):
        write_shards(iter([("a.b", {"txt": b"x"})]), tmp_path / "work", keep)


def test_synthetic_prompt_and_answer() -> None:
    messages = build_messages("A pump lifts water.", "Figure 3: the pump")
    assert messages[0]["role"] == "system" and "Figure 3: the pump" in messages[1]["content"]
    answer = {"choices": [{"message": {"content": 'Here is the caption: "A red pump lifts water."'}}]}
    assert parse_answer(answer) == "A red pump lifts water."
    with pytest.raises(ValueError):
        parse_answer({"choices": []})
