"""Fault-injection and safety tests: killed runs, bad configurations, offline and data-locality checks."""
