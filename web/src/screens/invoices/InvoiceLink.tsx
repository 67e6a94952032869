import { AnchorLink } from "@/components/AnchorLink";

/** A link to one invoice's page. */
export function InvoiceLink({ invoiceId, children }: { invoiceId: string; children: React.ReactNode }) {
  return (
    <AnchorLink to="/invoices/$invoiceId" params={{ invoiceId }}>
      {children}
    </AnchorLink>
  );
}
