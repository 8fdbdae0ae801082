"""The experiment side: study presets and steps, the command line, figures and the report."""
