"""The nightly retention sweep (``RetentionSweepWorkflow``)."""
