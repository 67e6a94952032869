import { formatMoney } from "@/lib/format";

/** The digits after the decimal point of a currency's minor unit (2 for USD, 0 for JPY). */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** Billing amounts come as integer minor units (cents); shown in the currency's own format. */
export function formatMinor(amount: number | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return "—";
  const digits = minorDigits(currency);
  const negative = amount < 0;
  const text = String(Math.abs(amount)).padStart(digits + 1, "0");
  const decimal = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return formatMoney(`${negative ? "-" : ""}${decimal}`, currency);
}
