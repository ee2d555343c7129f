"""Duplicate documents across the corpus: MinHash signatures per batch, LSH buckets, verified clusters.

``text``        normalization, word 5-grams, rensa MinHash and the exact-text hash of one document
``signatures``  a batch's signature file (written by the signals stage)
``lsh``         bands and rows for a Jaccard threshold; band keys
``index``       a batch's bucket index, one sorted run per band (built once per batch)
``candidates``  the streaming merge of every batch's buckets, a band and a key range at a time
``clusters``    verification, union-find, the keep rule and the members table
``flags``       the flag columns joined onto the signal rows for every filter

No Dagster and no storage here: callers pass files and openers (``pin_assets/dedup_io.py`` for the asset,
``bench/dedup*.py`` for the benchmarks).
"""
