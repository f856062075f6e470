"""The HTTP listeners: the public webhook app and the ops listener (metrics, admin API)."""
