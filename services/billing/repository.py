"""The firm-scoped repositories of billing, in a leaf module so that invoices, payments,
credits, dunning and the Stripe services share them without importing one another."""

from models import (
    BillingSettings,
    ClientCredit,
    DunningPolicy,
    DunningReminder,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentDispute,
    RecurringInvoice,
    SavedPaymentMethod,
    StripeEvent,
    StripeWebhookSecret,
    TaxRate,
)
from services.repository import FirmScoped

INVOICES = FirmScoped(Invoice, "invoice")
INVOICE_LINES = FirmScoped(InvoiceLine, "invoice line")
PAYMENTS = FirmScoped(Payment, "payment")
CREDITS = FirmScoped(ClientCredit, "client credit")
TAX_RATES = FirmScoped(TaxRate, "tax rate")
RECURRING = FirmScoped(RecurringInvoice, "recurring invoice")
SETTINGS = FirmScoped(BillingSettings, "billing settings")
DUNNING_POLICIES = FirmScoped(DunningPolicy, "dunning policy")
DUNNING_REMINDERS = FirmScoped(DunningReminder, "dunning reminder")
SAVED_METHODS = FirmScoped(SavedPaymentMethod, "saved payment method")
DISPUTES = FirmScoped(PaymentDispute, "payment dispute")
STRIPE_EVENTS = FirmScoped(StripeEvent, "Stripe event")
STRIPE_SECRETS = FirmScoped(StripeWebhookSecret, "Stripe signing secret")
