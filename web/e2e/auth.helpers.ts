import { createHmac } from "node:crypto";

import { expect, type Page } from "@playwright/test";

import { field } from "./stack";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 (no padding needed), as TOTP secrets are written. */
export function base32Decode(text: string): Buffer {
  let bits = "";
  for (const char of text.replace(/[\s=]/g, "").toUpperCase()) {
    const value = BASE32.indexOf(char);
    if (value < 0) throw new Error(`not base32: ${char}`);
    bits += value.toString(2).padStart(5, "0");
  }
  const bytes = bits.match(/.{8}/g) ?? [];
  return Buffer.from(bytes.map((byte) => parseInt(byte, 2)));
}

/** The RFC 6238 code (HMAC-SHA1, 30-second steps, 6 digits) an authenticator app shows at ``at``. */
export function totp(secret: string, at: number = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const digest = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = digest.readUInt8(digest.length - 1) & 0x0f;
  const code = (digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return code.toString().padStart(6, "0");
}

/** The secret the enrolment shows for typing by hand (grouped by four on screen). */
export async function shownSecret(page: Page): Promise<string> {
  const text = await page.getByTestId("totp-secret").innerText();
  return text.replace(/\s+/g, "");
}

/** Fills email and password on the sign-in page and submits, expecting no session yet. */
export async function submitPassword(page: Page, email: string, password: string): Promise<void> {
  await field(page, "Email").fill(email);
  await field(page, "Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Whether the signed-in layout is showing. */
export async function expectSignedIn(page: Page): Promise<void> {
  await expect(page.getByRole("button", { name: "Sign out", exact: true })).toBeVisible();
}
