"""Analytics from the content-free T0 records: rollups written with each record (`writer`), read per date
range (`reader`), served as JSON, CSV and a page by the router the staff console mounts (`api`, imported
from `agent.analytics.api`: it brings FastAPI and Jinja2, which the worker does not need)."""

from agent.analytics.reader import AnalyticsReader, ChannelStats, DayStats, RangeError, Report
from agent.analytics.writer import RollupWriter

__all__ = ["AnalyticsReader", "ChannelStats", "DayStats", "RangeError", "Report", "RollupWriter"]
