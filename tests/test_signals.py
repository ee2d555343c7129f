"""Quality signals on small hand-made Markdown documents whose values were worked out by hand."""

from __future__ import annotations

import importlib
import json
import math
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

from pin_assets.core import tokenizer as tokmod
from pin_assets.core.signals import (
    SIGNAL_DEFINITIONS,
    SIGNAL_NAMES,
    VALID_RANGES,
    ImageFacts,
    compute_signals,
    normalize_text,
    read_blocks,
    text_signals,
    validate_signal_row,
)
from pin_assets.core.tokenizer import HFTokenizer, Tokenizer, WordPunctTokenizer, default_tokenizer

WP = WordPunctTokenizer()
CORPUS = Path("/work/shared/corpus/pdf")


def signals(md: str, images: list[ImageFacts] | None = None) -> dict[str, float | int]:
    row = compute_signals(md, images or [], WP)
    assert validate_signal_row(row) == []
    return row


# --- PIN's own signals --------------------------------------------------------------------------------


def test_plain_text_without_images():
    md = "# Title\n\nHello world.\n"
    row = signals(md)
    assert row["text_block_count"] == 2
    assert row["image_text_interleaving_count"] == 0
    assert row["title_count"] == 1
    assert row["doc_length"] == len(md) == 22
    assert row["avg_text_block_length"] == (len("Title") + len("Hello world.")) / 2
    assert row["total_token_count"] == 1 + 3  # Title | Hello world .
    assert row["avg_tokens_per_text_block"] == 2.0
    assert row["image_count"] == 0 and row["image_min_side"] == 0 and row["image_total_bytes"] == 0


def test_only_images():
    md = "![](content_image/a.png)\n\n![](content_image/b.png)\n![](content_image/c.png)\n"
    images = [ImageFacts(200, 100, 1000), ImageFacts(50, 80, 500), ImageFacts(300, 300, 10)]
    row = signals(md, images)
    assert row["text_block_count"] == 0
    assert row["image_text_interleaving_count"] == 0  # I, I, I: no switch
    assert row["total_token_count"] == 0 and row["avg_tokens_per_text_block"] == 0
    assert row["avg_text_block_length"] == 0 and row["rps_doc_word_count"] == 0
    assert row["image_count"] == 3
    assert row["image_min_side"] == 50
    assert row["image_mean_aspect_ratio"] == pytest.approx((2.0 + 0.625 + 1.0) / 3)
    assert row["image_total_bytes"] == 1510


def test_empty_document_is_all_zero():
    row = signals("")
    assert set(row) == set(SIGNAL_NAMES)
    assert row.pop("page_count") == 1  # the default: one page, unless the converter says otherwise
    assert all(value == 0 for value in row.values())


def test_scanned_pages_are_a_signal():
    from pin_assets.core.signals import compute_signals
    from pin_assets.core.tokenizer import WordPunctTokenizer

    row = compute_signals("Two pages of text.", [], WordPunctTokenizer(), page_count=4, scanned_pages=3)
    assert (row["page_count"], row["scanned_page_count"], row["scanned_page_fraction"]) == (4, 3, 0.75)


def test_text_image_text_gives_two_switches():
    row = signals("Before.\n\n![](content_image/a.png)\n\nAfter.\n\nMore after.")
    assert row["image_text_interleaving_count"] == 2
    assert row["text_block_count"] == 3  # adjacent paragraphs stay separate blocks


def test_image_inside_paragraph_splits_it():
    seq = read_blocks("See ![](content_image/x.png) here, ![](content_image/y.png)")
    assert seq.items == ["T", "I", "T", "I"]
    assert seq.texts == ["See", "here,"]
    assert seq.interleaving_count() == 3


def test_nested_bold_italic_counts_in_both():
    row = signals("***x*** and **bold** and *it* and _u_")
    assert row["bold_char_count"] == 1 + 4
    assert row["italic_char_count"] == 1 + 2 + 1


def test_emphasis_markers_in_code_are_not_emphasis():
    md = "`**no**` and `*no*`\n\n```\n*nope* **nope**\n```\n\n    **indented code**\n"
    row = signals(md)
    assert row["bold_char_count"] == 0
    assert row["italic_char_count"] == 0
    assert row["text_block_count"] == 3  # paragraph, fenced code, indented code


def test_code_span_inside_bold_is_bold():
    assert signals("**a `b` c**")["bold_char_count"] == len("a b c")


def test_headings_counted_including_setext_but_not_empty():
    md = "# A\n\nSetext\n======\n\n#\n\n### B ![](content_image/i.png) C\n"
    row = signals(md)
    assert row["title_count"] == 3
    assert row["text_block_count"] == 4  # A, Setext, B, C
    assert row["image_text_interleaving_count"] == 2  # T T T I T


def test_table_is_one_text_block():
    md = "Intro.\n\n| a | b |\n|---|---|\n| 1 | *2* |\n"
    seq = read_blocks(md)
    assert seq.texts == ["Intro.", "a b\n1 2"]
    row = signals(md)
    assert row["text_block_count"] == 2
    assert row["italic_char_count"] == 1
    assert row["avg_text_block_length"] == (6 + 7) / 2


def test_list_items_and_quotes_contribute_their_paragraphs():
    md = "- one\n- two **b**\n  1. nested\n\n> quoted\n\n<!-- image -->\n"
    seq = read_blocks(md)
    assert seq.texts == ["one", "two b", "nested", "quoted"]  # raw HTML is ignored
    assert seq.items == ["T"] * 4


def test_links_keep_text_and_drop_targets():
    assert read_blocks("[link **b**](http://example.com)").texts == ["link b"]


# --- RedPajama-v2 style text signals ------------------------------------------------------------------


def test_word_level_signals_by_hand():
    row = text_signals("The cat. THE DOG...\nok")
    # normalised words: the cat the dog ok
    assert row["rps_doc_word_count"] == 5
    assert row["rps_doc_mean_word_length"] == pytest.approx(14 / 5)
    assert row["rps_doc_frac_unique_words"] == pytest.approx(4 / 5)
    assert row["rps_doc_unigram_entropy"] == pytest.approx(-(0.4 * math.log(0.4) + 3 * 0.2 * math.log(0.2)))
    # raw words: The cat . THE DOG ... ok
    assert row["rps_doc_frac_no_alph_words"] == pytest.approx(2 / 7)
    assert row["rps_doc_stop_word_fraction"] == pytest.approx(2 / 7)
    assert row["rps_doc_frac_all_caps_words"] == pytest.approx(2 / 7)
    assert row["rps_doc_frac_lines_end_with_ellipsis"] == pytest.approx(1 / 2)
    assert row["rps_doc_frac_chars_top_2gram"] == 0.0  # no bigram repeats
    assert row["rps_doc_frac_chars_dupe_5grams"] == 0.0


def test_ngram_signals_by_hand():
    # lengths 5 4 5 5 3 | 5 4 5 5 3 | 4 -> 48 characters
    row = text_signals("alpha beta gamma delta eps alpha beta gamma delta eps zeta")
    assert row["rps_doc_frac_chars_dupe_5grams"] == pytest.approx(44 / 48)
    assert row["rps_doc_frac_chars_dupe_6grams"] == 0.0
    assert row["rps_doc_frac_chars_top_2gram"] == pytest.approx(9 * 2 / 48)  # tie: first seen wins
    assert row["rps_doc_frac_chars_top_3gram"] == pytest.approx(14 * 2 / 48)
    assert row["rps_doc_frac_chars_top_4gram"] == pytest.approx(19 * 2 / 48)


def test_overlapping_top_ngram_can_exceed_one_as_in_redpajama():
    row = text_signals("a a a a")
    assert row["rps_doc_frac_chars_top_2gram"] == pytest.approx(2 * 3 / 4)
    assert VALID_RANGES["rps_doc_frac_chars_top_2gram"][1] >= 1.5


def test_non_latin_words_have_letters():
    row = text_signals("코로나 바이러스 2020")
    assert row["rps_doc_frac_no_alph_words"] == pytest.approx(1 / 3)


def _naive_ngram(words: list[str], n: int) -> tuple[float, float]:
    """A direct reading of RedPajama-v2's definitions, to check the vectorised version against."""
    total = sum(map(len, words))
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    counts = Counter(grams)
    covered = [False] * len(words)
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            covered[i:i + n] = [True] * n
    dupe = sum(len(w) for w, c in zip(words, covered, strict=True) if c) / total if total else 0.0
    top = 0.0
    if counts:
        gram, count = counts.most_common(1)[0]
        top = sum(map(len, gram)) * count / total if count > 1 else 0.0
    return dupe, top


def test_ngram_signals_match_naive_definition_on_random_texts():
    rng = random.Random(7)
    vocab = ["a", "bb", "ccc", "dddd", "eeeee", "the", "of"]
    for _ in range(200):
        words = [rng.choice(vocab[: rng.randint(1, len(vocab))]) for _ in range(rng.randint(0, 60))]
        row = text_signals(" ".join(words))
        for n in (5, 6, 7, 8, 9, 10):
            assert row[f"rps_doc_frac_chars_dupe_{n}grams"] == pytest.approx(_naive_ngram(words, n)[0])
        for n in (2, 3, 4):
            assert row[f"rps_doc_frac_chars_top_{n}gram"] == pytest.approx(_naive_ngram(words, n)[1])


def test_normalisation_follows_redpajama():
    assert normalize_text("  Hello,   WORLD!\n(ok) ") == "hello world ok"


# --- definitions ----------------------------------------------------------------------------------------


def test_definitions_are_complete_and_ordered():
    assert len(SIGNAL_NAMES) == len(set(SIGNAL_NAMES))
    for d in SIGNAL_DEFINITIONS:
        assert d.meaning and d.unit and d.valid_range[0] <= d.valid_range[1]
    assert list(signals("x")) == list(SIGNAL_NAMES)


def test_validate_signal_row_reports_out_of_range():
    row = signals("Hello")
    row["rps_doc_frac_unique_words"] = 1.5
    assert validate_signal_row(row) == ["rps_doc_frac_unique_words=1.5 outside [0, 1]"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not mounted")
def test_corpus_documents_are_in_range():
    for path in sorted(CORPUS.glob("*.expected.md")):
        row = compute_signals(path.read_text(encoding="utf-8"), [], WP)
        assert validate_signal_row(row) == [], path.name
        assert row["text_block_count"] > 0


# --- tokenizers -----------------------------------------------------------------------------------------


def test_word_punct_tokenizer():
    assert WP.name == "word-punct-v1"
    assert WP.count("Hello, world!!") == 5
    assert WP.count_batch(["a b", "", "c."]) == [2, 0, 2]
    assert isinstance(WP, Tokenizer)


def _write_tokenizer_json(folder: Path) -> Path:
    """A tiny word-level tokenizer.json, saved with truncation at 4 tokens to prove we switch it off."""
    from tokenizers import Tokenizer as HFTok
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tok = HFTok(WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.enable_truncation(max_length=4)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tokenizer.json"
    tok.save(str(path))
    assert json.loads(path.read_text())["truncation"]["max_length"] == 4
    return path


def test_hf_tokenizer_counts_without_truncation(tmp_path):
    path = _write_tokenizer_json(tmp_path / "tiny")
    tok = HFTokenizer(path.parent)
    assert tok.name == "hf:tiny"
    assert tok.count("hello world !") == 3
    assert tok.count("hello " * 10) == 10
    assert tok.count_batch(["hello", "hello world", ""]) == [1, 2, 0]
    with pytest.raises(FileNotFoundError):
        HFTokenizer(tmp_path / "missing")


def test_default_tokenizer_falls_back_to_word_punct(monkeypatch):
    monkeypatch.setattr(tokmod, "PACKAGED_TOKENIZERS", (("no_such_package_xyz", "tokenizer.json", "x"),))
    assert default_tokenizer().name == "word-punct-v1"


def test_default_tokenizer_uses_packaged_file_without_importing_it(tmp_path, monkeypatch):
    package = tmp_path / "site" / "fake_tok_pkg"
    _write_tokenizer_json(package / "model")
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    monkeypatch.setattr(tokmod, "PACKAGED_TOKENIZERS", (("fake_tok_pkg", "model/tokenizer.json", "hf:fake"),))
    tok = default_tokenizer()
    assert tok.name == "hf:fake"
    assert tok.count("hello world") == 2
    assert "fake_tok_pkg" not in sys.modules


def test_integer_signals_are_exactly_the_counts() -> None:
    from pin_assets.core.signals import INTEGER_SIGNALS, SIGNAL_NAMES, ImageFacts, compute_signals
    from pin_assets.core.tokenizer import WordPunctTokenizer

    markdown = "# T\n\nHello **w** ![](content_image/a.png) y"
    values = compute_signals(markdown, [ImageFacts(3, 4, 5)], WordPunctTokenizer())
    assert set(SIGNAL_NAMES) >= INTEGER_SIGNALS
    assert {name for name, value in values.items() if isinstance(value, int)} == INTEGER_SIGNALS


def test_docs_table_matches_the_definitions() -> None:
    from pathlib import Path

    from pin_assets.core.signals import definitions_markdown

    docs = (Path(__file__).resolve().parents[1] / "docs" / "signals.md").read_text()
    assert definitions_markdown() in docs
