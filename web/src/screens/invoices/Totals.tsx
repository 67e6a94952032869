import { Table } from "@mantine/core";

import { formatMinor } from "@/lib/money";
import type { InvoiceSummary } from "./queries";

function percentText(percent: string): string {
  return `${percent.replace(/\.?0+$/, "")}%`;
}

/** The invoice's totals exactly as the API computed them. */
export function Totals({ invoice, issued }: { invoice: InvoiceSummary; issued: boolean }) {
  const money = (amount: number) => formatMinor(amount, invoice.currency);
  const rows: [string, string, string][] = [["subtotal", "Subtotal", money(invoice.subtotal)]];
  if (invoice.discount_total > 0) rows.push(["discount", "Discount", `−${money(invoice.discount_total)}`]);
  for (const tax of invoice.tax_breakdown) {
    rows.push([
      `tax-${tax.tax_rate_id}`,
      `${tax.name} ${percentText(tax.percent)}${tax.inclusive ? " (included)" : ""} on ${money(tax.taxable)}`,
      money(tax.amount),
    ]);
  }
  rows.push(["tax", "Tax", money(invoice.tax_total)]);
  if (invoice.late_fee > 0) rows.push(["late-fee", "Late fee", money(invoice.late_fee)]);
  rows.push(["total", "Total", money(invoice.total)]);
  if (issued) {
    if (invoice.amount_paid > 0) rows.push(["paid", "Paid", `−${money(invoice.amount_paid)}`]);
    if (invoice.amount_credited > 0) rows.push(["credited", "Credited", `−${money(invoice.amount_credited)}`]);
    rows.push(["balance", "Balance due", money(invoice.balance)]);
  }
  return (
    <Table aria-label="Totals" maw={460} ml="auto" data-testid="totals">
      <Table.Tbody>
        {rows.map(([key, label, amount]) => (
          <Table.Tr key={key} data-testid={`total-${key}`}>
            <Table.Th scope="row" fw={key === "total" || key === "balance" ? 700 : 500}>
              {label}
            </Table.Th>
            <Table.Td ta="right" fw={key === "total" || key === "balance" ? 700 : 400}>
              {amount}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
