"""The report and its figures: every paper table as a plotly figure, drawn from a run folder's outputs, and
the report page that collects them with the run's provenance. Nothing here runs a model."""
