"""Starting firmflow: ``python -m launcher dev|api|worker|migrate`` (``make dev``, ``make api``,
``make worker``, ``make migrate``).

``dev`` runs the whole platform on one machine: embedded Postgres (data under
``<data_dir>/postgres``), the Temporal dev server with its Web UI (SQLite in WAL mode at
``<data_dir>/temporal.db``), the migrations, the worker and the API. Each piece is awaited
by probing it, never by sleeping a fixed time. Ctrl-C (or SIGTERM) stops the children in
reverse order, then Postgres. ``FIRMFLOW_DATABASE_URL`` / ``FIRMFLOW_TEMPORAL_ADDRESS``
replace the embedded services with existing ones.

``api``, ``worker`` and ``migrate`` run one piece against the services the environment names.

It sits above every other package (it seeds the demo firm through services), so it lives
outside core: core imports nothing of ours above it.
"""
