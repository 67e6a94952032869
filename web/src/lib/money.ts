/**
 * The API counts money as integer minor units of a currency (1250 = $12.50). These helpers
 * convert for display and input only, on strings, so no floating point drift creeps in; every
 * total is the API's.
 */

/** How many digits a currency's minor unit has (USD 2, JPY 0, KWD 3); 2 for an unknown code. */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** Minor units as the major-unit text an amount field shows: 12345 USD → "123.45". */
export function minorToInput(minor: number, currency: string): string {
  const digits = currencyDigits(currency);
  const sign = minor < 0 ? "-" : "";
  const text = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, "0");
  if (digits === 0) return sign + text;
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** Minor units in major units as a number, for charts: 123450 USD → 1234.5. */
export function toMajor(minor: number, currency: string): number {
  return Number(minorToInput(minor, currency));
}

/** An amount in major units (a chart's value) shown in its currency. */
export function formatMajor(value: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(value);
  } catch {
    return `${value.toFixed(currencyDigits(currency))} ${currency}`;
  }
}

/** Minor units shown in their currency: 123456 USD → "$1,234.56"; a dash for no amount. */
export function formatMinor(amount: number | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return "—";
  return formatMajor(toMajor(amount, currency), currency);
}

/**
 * What a person typed in major units ("12.5", "1,200.07", "12,5") as minor units, or null when
 * it is not an amount in the currency (letters, more decimals than the currency has). A lone
 * comma not followed by three digits is a decimal comma; other commas group thousands.
 */
export function parseMinor(typed: string | number, currency: string): number | null {
  let text = String(typed).replace(/\s/g, "");
  text = /^-?\d*,(\d{0,2}|\d{4,})$/.test(text) ? text.replace(",", ".") : text.replace(/,/g, "");
  const match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match) return null;
  const [, sign = "", whole = "", fraction = ""] = match;
  if (whole === "" && fraction === "") return null;
  const digits = currencyDigits(currency);
  if (fraction.length > digits) return null;
  const minor = Number((whole || "0") + fraction.padEnd(digits, "0"));
  return sign ? -minor : minor;
}
