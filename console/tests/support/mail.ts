// The server's outgoing mail: with no SMTP server configured it writes one
// .eml file per email to its mail directory. These read them (headers
// unfolded, the subject's encoded words and the body's transfer encoding
// undone) and find the links in them.
import fs from 'node:fs';
import path from 'node:path';
import { stack } from './stack';

export interface Mail {
  file: string;
  /** The recipients' addresses, lower-cased. */
  to: string[];
  subject: string;
  /** The decoded body. */
  text: string;
  writtenAt: number;
}

/** Every email written so far, oldest first. */
export function allMail(): Mail[] {
  const dir = stack().mailDir;
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => name.endsWith('.eml'));
  } catch {
    return [];
  }
  return names
    .map((name) => {
      const file = path.join(dir, name);
      return { ...parseMail(fs.readFileSync(file, 'utf8')), file, writtenAt: fs.statSync(file).mtimeMs };
    })
    .sort((a, b) => a.writtenAt - b.writtenAt);
}

/**
 * Waits (up to `timeoutMs`) until at least `count` emails to `to` whose
 * subject matches `subject` were written; answers the newest.
 */
export async function waitForMail(
  to: string,
  subject: RegExp,
  { count = 1, timeoutMs = 15_000 }: { count?: number; timeoutMs?: number } = {},
): Promise<Mail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = allMail().filter((mail) => mail.to.includes(to.toLowerCase()) && subject.test(mail.subject));
    const newest = found.at(-1);
    if (found.length >= count && newest) return newest;
    if (Date.now() > deadline) {
      const seen = allMail()
        .filter((mail) => mail.to.includes(to.toLowerCase()))
        .map((mail) => mail.subject);
      throw new Error(`no email to ${to} matching ${subject} within ${timeoutMs} ms (${to} got: ${JSON.stringify(seen)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** The link in `mail` to `pathname` (such as /verify-email), with its query. */
export function linkIn(mail: Mail, pathname: string): string {
  for (const match of mail.text.matchAll(/https?:\/\/[^\s<>"')\]]+/g)) {
    const url = new URL(match[0]);
    if (url.pathname === pathname) return url.href;
  }
  throw new Error(`no ${pathname} link in the email "${mail.subject}":\n${mail.text}`);
}

/** Waits for the email to `to` about `subject` and answers its link to `pathname`. */
export async function mailedLink(to: string, subject: RegExp, pathname: string): Promise<string> {
  return linkIn(await waitForMail(to, subject), pathname);
}

/** An RFC 5322 message with a single-part body. */
export function parseMail(raw: string): Omit<Mail, 'file' | 'writtenAt'> {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const to = [...(headers.get('to') ?? '').matchAll(/[^\s<>,"]+@[^\s<>,"]+/g)].map((m) => m[0].toLowerCase());
  const subject = decodeEncodedWords(headers.get('subject') ?? '');
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const charset = /charset="?([^";]+)"?/i.exec(headers.get('content-type') ?? '')?.[1] ?? 'utf-8';
  return { to, subject, text: decodeBody(body, encoding, charset) };
}

function decodeBody(body: string, encoding: string, charset: string): string {
  const decoder = new TextDecoder(charset);
  if (encoding === 'base64') return decoder.decode(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
  if (encoding === 'quoted-printable') return decoder.decode(quotedPrintable(body));
  return body;
}

/** RFC 2045 §6.7: soft line breaks go, `=XX` is the byte XX. */
function quotedPrintable(text: string): Uint8Array {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i] ?? '', 'utf8'));
    }
  }
  return Uint8Array.from(bytes);
}

/** RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header. */
function decodeEncodedWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, charset: string, kind: string, data: string) => {
      const decoder = new TextDecoder(charset);
      if (kind.toLowerCase() === 'b') return decoder.decode(Buffer.from(data, 'base64'));
      return decoder.decode(quotedPrintable(data.replace(/_/g, ' ')));
    });
}
