"""The held-out PII set: phrasing and values written apart from the detectors and from the development set.

Rule for whoever tunes the engine: never read these files, or the messages they generate, while changing a
detector. They were written (and their numbers recorded) before the recall work on issue 17 began; `python -m
bench.pii` scores them beside the development set (bench/pii/templates.py, values.py), which is for tuning.

Two parts: `generate.py` composes messages from `phrasing.py` (templates in other layouts and languages than the
development set's) and `people.py` (names, handles, addresses and dates from around the world, said and typed the
way people and tiny.en write them); `handwritten.txt` holds messages paraphrased by hand, spans marked inline.
"""
