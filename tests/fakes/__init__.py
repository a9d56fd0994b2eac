"""Fake servers on loopback for tests (and benchmarks)."""
