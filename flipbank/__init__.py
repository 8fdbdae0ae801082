"""The data side: question records and readers, the demo bank, flip mining, FlipBank curation and the
robustness metrics."""
