"""Benchmarks (throughput, latency): run as modules, report figures; never part of tests."""
