// The codes an authenticator app shows: TOTP (RFC 6238) over HOTP
// (RFC 4226), HMAC-SHA1, 30-second steps, six digits, from the base32
// secret (RFC 4648) the server hands out when enrolling.
import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Decode(secret: string): Buffer {
  const clean = secret.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of clean) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(char)} in the secret`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

export function hotp(key: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

const STEP_MS = 30_000;

/** The time step of `atMs` (RFC 6238 §4.2, T0 = 0, X = 30 s). */
export function stepAt(atMs = Date.now()): number {
  return Math.floor(atMs / STEP_MS);
}

/** The code for `secret` (base32) at time step `step`. */
export function totpAt(secret: string, step: number): string {
  return hotp(base32Decode(secret), step);
}

/**
 * A code the server takes now and that is later than step `after` (a code
 * works once): the current step's, or the next step's, which the server
 * takes a step early (it allows one step of clock skew either way).
 */
export function totpAfter(secret: string, after?: number): { code: string; step: number } {
  const now = stepAt();
  const step = after === undefined || now > after ? now : after + 1;
  return { code: totpAt(secret, step), step };
}
