"""Pure code that both sides of the workflow sandbox use: no I/O, no clock, no state that
changes a result. Workflows import it (passed through the sandbox, see
workflows.registry.SHARED_FIRMFLOW_MODULES) and so do services; it imports nothing of ours but
core, so neither side reaches into the other.

- ``expressions``: the automation expression language (sandboxed Jinja2).
- ``event_catalogue``: the domain events automations trigger on and wait for.
"""
