"""Benchmarks: numbers to compare within one run, never pass/fail."""
