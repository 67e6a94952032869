"""User-defined automations: the definition format (``definition``) and, later, the
interpreter workflow that runs a published version."""
