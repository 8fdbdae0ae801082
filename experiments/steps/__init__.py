"""The study's steps: mining and the FlipBank, features, attribution, patching, the layer sweep, clamping,
the configuration comparison, grounding, MediConfusion, uncertainty, NOTA and latency. Each step reads the
run folder's earlier outputs and writes its own (names in `experiments.run_files`); none draws a figure or
parses a command line."""
