"""Automations: definitions and their validation (``validation``), the draft, versions and
status (``automations``), version diffs (``diff``) and export/import (``portable``)."""
