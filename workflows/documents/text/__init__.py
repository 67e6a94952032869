"""DocumentTextWorkflow: a new version's text extracted and indexed for search."""
