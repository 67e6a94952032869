import { formatMoney } from "@/lib/format";

/** How many decimals a currency's minor unit has (2 for USD, 0 for JPY, 3 for KWD). */
export function currencyDecimals(currency: string): number {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** An amount the API gives in minor units (12345 cents) as a decimal string ("123.45"). */
export function minorToDecimal(minor: number, currency: string): string {
  const places = currencyDecimals(currency);
  const sign = minor < 0 ? "-" : "";
  const digits = String(Math.abs(Math.trunc(minor))).padStart(places + 1, "0");
  if (places === 0) return sign + digits;
  return `${sign}${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

/** A decimal the member typed ("123.4") in minor units (12340); null when it is not one. */
export function decimalToMinor(text: string, currency: string): number | null {
  const places = currencyDecimals(currency);
  const match = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(text);
  if (!match) return null;
  const [, whole = "", fraction = ""] = match;
  if (fraction.length > places) return null;
  return Number(whole + fraction.padEnd(places, "0"));
}

/** Minor units shown in the currency, e.g. 12345 USD → "$123.45". */
export function formatMinor(minor: number, currency: string): string {
  return formatMoney(minorToDecimal(minor, currency), currency);
}
