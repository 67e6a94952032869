"""E-signature: envelopes and templates, the built-in provider's signing page and seal,
the outside providers (DocuSign, Dropbox Sign) and their webhooks, and the steps of the
envelope's process."""
