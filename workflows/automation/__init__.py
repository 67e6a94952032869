"""User-defined automations: the definition format (``definition``), the run workflow and
its interpreter (``run``), and the processes a run starts: ``foreach`` items, ``debounce``
windows and ``schedule`` fires."""
