"""The transactional outbox: ``writer`` queues a side effect in the business change's own
transaction, ``kinds`` names what a message asks for, ``registry`` maps the domain kinds to
their handlers, and ``dispatch`` carries messages out after commit and in the relay."""
