"""E-signature's durable processes."""
