"""Billing: invoices and their totals, payments and credit, Stripe, dunning, recurring
invoices and receivables reports."""
