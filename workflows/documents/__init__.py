"""Documents' durable processes."""
