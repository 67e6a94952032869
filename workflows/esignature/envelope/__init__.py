"""EnvelopeWorkflow: one envelope from its sending to its end."""
