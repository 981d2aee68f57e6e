// Single sign-on from the console: an Enterprise organization's owner
// connects the test OpenID Connect provider, runs a test sign-in through
// the provider's own login form in a new tab, and activates the
// connection once the test passed.
import { createOrganization, setTier, signUp } from './support/api';
import { audit, consolePage, expect, settled, signInWithTokens, test } from './support/fixtures';
import { stack } from './support/stack';

test.use({ allowIdp: true });

/**
 * Proves that the SSO page creates an OIDC connection as a draft, that its
 * Test button yields a one-time link which, opened in a new tab, goes
 * through the IdP's login and consent and back to the console's result
 * page ("passed"), that the console tab then shows the connection as
 * tested (by whom), and that it can then be activated. Also audits the
 * result page (axe, screenshots), which only this flow reaches.
 */
test('create an OIDC connection, test it through the IdP, activate it', async ({ context, page }, testInfo) => {
  const { idpIssuer, idpClient, idpAccounts } = stack();
  const alice = idpAccounts.alice;
  if (!alice) throw new Error('the IdP has no account "alice"');
  const owner = await signUp('Olga Owner');
  const organization = await createOrganization(owner, `Enterprise ${Date.now().toString(36)}`);
  await setTier(organization, 'ENTERPRISE');
  await signInWithTokens(context, owner);

  const title = `OIDC connection to ${idpIssuer}`;
  const card = page.getByRole('article', { name: title });

  await test.step('create the connection', async () => {
    await page.goto(consolePage(`/o/${organization.id}/sso`));
    await settled(page);
    await expect(page.getByText('No single sign-on connections yet.')).toBeVisible();
    await page.getByLabel('Protocol').selectOption('OIDC');
    await page.getByLabel('Issuer URL').fill(idpIssuer);
    await page.getByLabel('Client ID').fill(idpClient.clientId);
    await page.getByLabel('Client secret').fill(idpClient.clientSecret);
    await page.getByRole('button', { name: 'Create connection' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Connection created as a draft' })).toBeVisible();
    await expect(card).toBeVisible();
    await expect(card).toContainText(/Status\s*Draft/);
    await expect(card).toContainText('Not tested yet');
    // What to register at the IdP: the server's callback.
    await expect(card).toContainText(`${stack().serverUrl}/sso/oidc/callback`);
  });

  await test.step('test it: sign in at the IdP in a new tab', async () => {
    await card.getByRole('button', { name: `Test ${title}` }).click();
    const link = card.getByRole('link', { name: 'Open test sign-in' });
    await expect(link).toBeVisible();
    const [tab] = await Promise.all([context.waitForEvent('page'), link.click()]);

    // The provider's development login form, then its consent form.
    await tab.waitForURL((url) => url.origin === new URL(idpIssuer).origin);
    await tab.locator('input[name="login"]').fill('alice');
    await tab.locator('input[name="password"]').fill('any password');
    await tab.getByRole('button', { name: 'Sign-in' }).click();
    await tab.getByRole('button', { name: 'Continue' }).click();

    await tab.waitForURL(/\/console\/sso-test\?sso_test=passed/);
    await expect(tab.getByRole('heading', { name: 'Test sign-in passed' })).toBeVisible();
    await audit(tab, 'sso-test-result', testInfo);
    await tab.close();
  });

  await test.step('back in the console tab, the connection shows as tested', async () => {
    await page.bringToFront();
    // Headless Chromium keeps every tab focused and visible, so switching
    // back fires no event: send the window the `focus` a person's return
    // would (the page refetches on it).
    await page.evaluate(() => window.dispatchEvent(new FocusEvent('focus')));
    await expect(card).toContainText('Passed');
    await expect(card).toContainText(`signed in as ${alice.email}`);
  });

  await test.step('activate it', async () => {
    await card.getByRole('button', { name: `Activate ${title}` }).click();
    await expect(card.getByRole('status').filter({ hasText: 'The organization now signs in through this connection.' })).toBeVisible();
    await expect(card).toContainText(/Status\s*Active/);
    await expect(card.getByRole('button', { name: `Deactivate ${title}` })).toBeVisible();
  });
});
