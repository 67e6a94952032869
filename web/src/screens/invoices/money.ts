/**
 * Invoice amounts travel as integer minor units of their currency (1250 = $12.50). These
 * helpers only convert for display and input; every total is the API's.
 */

/** How many decimals the currency's minor unit has (USD 2, JPY 0, BHD 3). */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** An amount in minor units, shown in its currency. */
export function formatMinor(amount: number | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return "—";
  const digits = minorDigits(currency);
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(
      amount / 10 ** digits,
    );
  } catch {
    return `${(amount / 10 ** digits).toFixed(digits)} ${currency}`;
  }
}

/**
 * What a person typed as an amount in major units ("12.5", "1,200.00") as minor units, or
 * NaN when it is not an amount; NaN is sent as null, so the API names the field.
 */
export function toMinor(typed: string | number, currency: string): number {
  const text = String(typed).replace(/[,\s]/g, "");
  if (!/^-?\d*(\.\d*)?$/.test(text) || text === "" || text === "." || text === "-") {
    return Number.NaN;
  }
  const digits = minorDigits(currency);
  const [whole = "0", fraction = ""] = text.replace("-", "").split(".");
  if (fraction.length > digits) return Number.NaN;
  const minor = Number(whole || "0") * 10 ** digits + Number(fraction.padEnd(digits, "0") || "0");
  return text.startsWith("-") ? -minor : minor;
}

/** Minor units as the text an amount field shows ("12.50"). */
export function toMajorText(amount: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = amount < 0 ? "-" : "";
  const absolute = Math.abs(amount);
  const whole = Math.floor(absolute / 10 ** digits);
  if (digits === 0) return `${sign}${whole}`;
  const fraction = String(absolute % 10 ** digits).padStart(digits, "0");
  return `${sign}${whole}.${fraction}`;
}
