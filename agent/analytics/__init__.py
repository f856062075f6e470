"""Analytics from the content-free T0 records: rollups written with each record, read per date range."""
