"""Latency: measurement backends (ofa.latency.backends) behind the device profiles."""
