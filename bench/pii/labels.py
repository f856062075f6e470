"""The types the gold set labels: the engine's own `EntityType`, so gold and predictions share one enum."""

from pipelines.pii.entities import EntityType as Label

__all__ = ["Label"]
