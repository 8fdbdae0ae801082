"""The data side: question records, readers, the demo bank, flip mining, FlipBank curation and robustness metrics."""
