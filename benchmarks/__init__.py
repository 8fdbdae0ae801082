"""Side-by-side benchmarks (scripts, not tests)."""
