"""Benchmarks: cold start, warm handler overhead, list cost at scale, package size and cost (`make bench`)."""
