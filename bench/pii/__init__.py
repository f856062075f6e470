"""PII bench: our detection engine against a Presidio baseline on a synthetic, labelled Indian chat set.

`python -m bench.pii [--examples N]`. The dataset is built in memory from a seed (bench/pii/dataset.py);
nothing is downloaded and nothing is written.
"""
