// Every page of the console, with data on it: axe finds no serious or
// critical accessibility violation at 1280×800 nor at 360×740, each width
// gets a full-page screenshot (ORGQL_CONSOLE_SCREENSHOTS), and no page
// logs an error, throws, or asks another host for anything (the fixtures'
// guard).
import type { Page, TestInfo } from '@playwright/test';
import { gql, signUpUnverified, uniqueEmail, verificationLink } from './support/api';
import { audit, consolePage, expect, mailedLinkUrl, signInWithTokens, test } from './support/fixtures';
import { linkIn, waitForMail } from './support/mail';
import { seedOrganization } from './support/seed';
import { stack } from './support/stack';

/** Opens `route`, waits for what shows that its data arrived, and audits it as `name`. */
async function visit(page: Page, name: string, route: string, loaded: (page: Page) => Promise<void>, testInfo: TestInfo) {
  await test.step(name, async () => {
    await page.goto(route.startsWith('http') ? route : consolePage(route));
    await loaded(page);
    await audit(page, name, testInfo);
  });
}

const heading = (name: string | RegExp) => (page: Page) => expect(page.getByRole('heading', { level: 1, name })).toBeVisible();

/**
 * Proves that each page, signed out and signed in, passes axe at both
 * widths once its data is on it, and records how it looks.
 */
test('every page: axe at both widths, screenshots, no errors, no other hosts', async ({ page, context }, testInfo) => {
  test.setTimeout(240_000);
  const seeded = await seedOrganization();
  const { organization, owner, members, teamId, invitationToken } = seeded;
  const cleo = members[1];
  if (!cleo) throw new Error('the seed has no member Cleo');

  // Signed out: the public pages, the mailed links' among them.
  await visit(page, 'sign-in', '/sign-in', heading('Sign in'), testInfo);
  await visit(page, 'sign-up', '/sign-up', heading('Create your account'), testInfo);
  await visit(page, 'forgot-password', '/forgot-password', heading('Reset your password'), testInfo);

  await gql(`mutation ($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) { accepted } }`, {
    input: { email: cleo.email },
  });
  const resetLink = linkIn(await waitForMail(cleo.email, /^Reset your orgql password$/), '/reset-password');
  await visit(page, 'reset-password', mailedLinkUrl(resetLink), heading('Choose a new password'), testInfo);

  const newcomer = await signUpUnverified('Vera Newcomer', uniqueEmail('vera'));
  await visit(page, 'verify-email', mailedLinkUrl(await verificationLink(newcomer.email)), heading('Your email is verified'), testInfo);

  await visit(
    page,
    'accept-invitation',
    mailedLinkUrl(`${stack().serverUrl}/invitations/accept?token=${encodeURIComponent(invitationToken)}`),
    async (p) => {
      await heading('Invitation')(p);
      await expect(p.getByText(`invited you to join ${organization.name}`)).toBeVisible();
    },
    testInfo,
  );

  // Signed in as the organization's owner.
  await signInWithTokens(context, owner);
  const org = `/o/${organization.id}`;
  await visit(page, 'organizations-new', '/organizations/new', heading('New organization'), testInfo);
  await visit(
    page,
    'members',
    `${org}/members`,
    async (p) => {
      await heading('Members')(p);
      await expect(p.getByRole('rowheader')).toHaveCount(4);
    },
    testInfo,
  );
  await visit(
    page,
    'invitations',
    `${org}/invitations`,
    async (p) => {
      await heading('Invitations')(p);
      await expect(p.getByRole('rowheader', { name: /^pending\./ })).toBeVisible();
    },
    testInfo,
  );
  await visit(
    page,
    'teams',
    `${org}/teams?team=${encodeURIComponent(teamId)}`,
    async (p) => {
      await heading('Teams')(p);
      await expect(p.getByRole('link', { name: 'Platform Infra' })).toBeVisible();
      // The chosen team's panel, with its members.
      await expect(p.getByRole('heading', { level: 2, name: 'Platform', exact: true })).toBeVisible();
      await expect(p.getByRole('region', { name: 'Platform', exact: true })).toContainText('Ben Admin');
    },
    testInfo,
  );
  await visit(
    page,
    'policy',
    `${org}/policy`,
    async (p) => {
      await heading('Policy')(p);
      await expect(p.getByText('192.0.2.0/24')).toBeVisible();
    },
    testInfo,
  );
  await visit(
    page,
    'domains',
    `${org}/domains`,
    async (p) => {
      await heading('Domains')(p);
      await expect(p.getByText(/northwind-.*\.test/).first()).toBeVisible();
    },
    testInfo,
  );
  await visit(
    page,
    'sso',
    `${org}/sso`,
    async (p) => {
      await heading('Single sign-on')(p);
      await expect(p.getByRole('article', { name: `OIDC connection to ${stack().idpIssuer}` })).toBeVisible();
    },
    testInfo,
  );
  await visit(
    page,
    'api-tokens',
    `${org}/api-tokens`,
    async (p) => {
      await heading('API tokens')(p);
      await expect(p.getByText('CI deploys').first()).toBeVisible();
    },
    testInfo,
  );
  await visit(
    page,
    'audit-log',
    `${org}/audit-log`,
    async (p) => {
      await heading('Audit log')(p);
      await expect(p.getByRole('rowheader', { name: 'Organization created' })).toBeVisible();
    },
    testInfo,
  );
  await visit(
    page,
    'account',
    '/account',
    async (p) => {
      await heading('Account')(p);
      await expect(p.getByText(owner.email)).toBeVisible();
    },
    testInfo,
  );
  await visit(
    page,
    'account-sessions',
    '/account/sessions',
    async (p) => {
      await heading('Sessions')(p);
      await expect(p.locator('main table tbody tr').first()).toBeVisible();
    },
    testInfo,
  );
});
