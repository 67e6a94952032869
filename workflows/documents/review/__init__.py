"""DocumentReviewWorkflow: one review of a document version."""
