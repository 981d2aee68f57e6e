// Two-factor authentication, end to end in the browser: turning it on
// from the Account page with a code computed here (RFC 6238), and signing
// in again with the password and then a code.
import { signUp } from './support/api';
import { audit, consolePage, expect, settled, test } from './support/fixtures';
import { totpAfter, totpAt, stepAt } from './support/totp';

/**
 * Proves that a person can enroll an authenticator on the Account page
 * (secret shown, first code confirmed, recovery codes shown), that the next
 * sign-in then asks for a code after the password, that a wrong code is
 * refused in plain words, and that a right one signs them in. Also audits
 * the two screens only this flow reaches (the enrollment, the code step).
 */
test('enroll TOTP on the Account page, then sign in with password and code', async ({ page }, testInfo) => {
  const person = await signUp('Mia Factor');

  await test.step('sign in with the password', async () => {
    await page.goto(consolePage('/sign-in'));
    await page.getByLabel('Email').fill(person.email);
    await page.getByLabel('Password').fill(person.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // No organization yet: the console offers to create one.
    await expect(page.getByRole('heading', { name: 'New organization' })).toBeVisible();
  });

  let secret = '';
  let confirmedStep = 0;
  await test.step('turn on two-factor authentication on the Account page', async () => {
    await page.goto(consolePage('/account'));
    await settled(page);
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    // Shown as text, or in a read-only field.
    secret = (await page.getByLabel('TOTP secret').evaluate((el) => (el instanceof HTMLInputElement ? el.value : el.textContent ?? ''))).trim();
    expect(secret).toMatch(/^[A-Z2-7]{16,}=*$/);
    const uri = await page.getByLabel('otpauth URI').evaluate((el) => (el instanceof HTMLInputElement ? el.value : el.textContent ?? ''));
    expect(uri).toContain(`otpauth://totp/`);
    expect(uri).toContain(`secret=${secret}`);
    await audit(page, 'account-totp-enrollment', testInfo);
    const first = totpAfter(secret);
    confirmedStep = first.step;
    await page.getByLabel('Code from the app').fill(first.code);
    await page.getByRole('button', { name: 'Confirm and turn on' }).click();
    const codes = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await expect(codes).toHaveCount(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await expect(page.getByRole('button', { name: 'Turn off two-factor authentication' })).toBeVisible();
  });

  await test.step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  });

  await test.step('sign in: the password, then a code, by keyboard alone', async () => {
    // Tab order from the top of the page: the email, the password, then Enter submits.
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Email')).toBeFocused();
    await page.keyboard.type(person.email);
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Password')).toBeFocused();
    await page.keyboard.type(person.password);
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeVisible();
    // The code field has the focus: type and Enter.
    await expect(page.getByLabel('Code', { exact: true })).toBeFocused();
    await audit(page, 'sign-in-code', testInfo);

    // A code from far outside the allowed skew is refused, in plain words.
    await page.getByLabel('Code', { exact: true }).fill(totpAt(secret, stepAt() - 100));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect(page.getByRole('alert')).toContainText(/not right/i);

    await page.getByLabel('Code', { exact: true }).fill(totpAfter(secret, confirmedStep).code);
    await page.getByRole('button', { name: 'Verify' }).click();
    // Signed in: back where they signed out, as themselves.
    await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
    await expect(page).not.toHaveURL(/\/sign-in/);
    await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Account' }).click();
    await expect(page.getByText(person.email)).toBeVisible();
  });
});
