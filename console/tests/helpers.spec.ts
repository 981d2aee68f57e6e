// The test helpers' own checks, without a browser: the TOTP codes match
// RFC 6238's test vectors, and mail parsing undoes the transfer encodings
// a mail library may choose.
import { expect, test } from '@playwright/test';
import { linkIn, parseMail } from './support/mail';
import { base32Decode, hotp, totpAt, stepAt } from './support/totp';

/** Proves the TOTP helper against RFC 6238 appendix B (SHA-1, six of its eight digits). */
test('TOTP codes match RFC 6238', () => {
  // The RFC's key is the ASCII "12345678901234567890": base32 below.
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  expect(base32Decode(secret).toString('ascii')).toBe('12345678901234567890');
  const vectors: Array<[number, string]> = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
  ];
  for (const [seconds, eight] of vectors) {
    expect(totpAt(secret, stepAt(seconds * 1000))).toBe(eight.slice(-6));
    expect(hotp(base32Decode(secret), stepAt(seconds * 1000), 8)).toBe(eight);
  }
});

/** Proves that links survive quoted-printable and base64 bodies and encoded subjects. */
test('mail parsing decodes bodies and subjects', () => {
  const link = 'http://127.0.0.1:1234/verify-email?token=abc_DEF-123';
  const quoted = [
    'From: orgql <no-reply@localhost>',
    'To: ann@example.test',
    'Subject: =?utf-8?b?Q29uZmlybSB5b3VyIGVtYWlsIGFkZHJlc3M=?=',
    'Content-Transfer-Encoding: quoted-printable',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Open this link =E2=80=94 it works once:',
    'http://127.0.0.1:1234/verify-email?token=3Dabc_DEF-1=',
    '23',
    '',
  ].join('\r\n');
  const parsed = parseMail(quoted);
  expect(parsed.to).toEqual(['ann@example.test']);
  expect(parsed.subject).toBe('Confirm your email address');
  expect(parsed.text).toContain('link — it');
  expect(linkIn({ ...parsed, file: '', writtenAt: 0 }, '/verify-email')).toBe(link);

  const based = [
    'To: "Ann" <Ann@Example.test>',
    'Subject: Reset',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(`Reset: ${link}\n`).toString('base64'),
  ].join('\n');
  const decoded = parseMail(based);
  expect(decoded.to).toEqual(['ann@example.test']);
  expect(linkIn({ ...decoded, file: '', writtenAt: 0 }, '/verify-email')).toBe(link);
});
