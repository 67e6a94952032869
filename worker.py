"""The Temporal worker entry point (see core/launcher.py for `make worker`)."""
