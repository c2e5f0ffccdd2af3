"""Timing, scoring and the child-process harness."""
