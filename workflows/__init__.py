"""Temporal workflows. The list the worker registers is in ``workflows.registry``: this
package module stays empty because the workflow sandbox re-imports it for every workflow
run, and importing every workflow module here would rebuild all their models each time."""
