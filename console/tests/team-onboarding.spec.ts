// The first day of an organization, in two browsers: its founder signs
// up, verifies the address from the mailed link, creates the organization
// and invites a colleague; the colleague opens the invitation link in
// their own browser, creates an account and accepts; the founder watches
// them arrive, changes their role, is stopped from demoting the last
// owner, and finds all of it in the audit log.
import type { Page } from '@playwright/test';
import { PASSWORD, invitationLink, uniqueEmail, verificationLink } from './support/api';
import { consolePage, expect, mailedLinkUrl, settled, test } from './support/fixtures';
import { openSection, submitSignIn, submitSignUp } from './support/ui';

/**
 * Proves the whole path through the public pages (sign-up, the mailed
 * verification link followed through the server's redirect, sign-in with
 * ?next=), organization creation, invitations, live member updates over
 * the subscription (no reload), role changes, the LAST_OWNER refusal in
 * plain words, and the audit log's record of it all.
 */
test('sign up, create an organization, invite a colleague who joins, manage roles, read the audit log', async ({
  page,
  newContext,
}) => {
  const stamp = Date.now().toString(36);
  const founder = { name: 'Frida Founder', email: uniqueEmail('frida'), password: PASSWORD };
  const colleague = { name: 'Carl Colleague', email: uniqueEmail('carl'), password: PASSWORD };
  const organizationName = `Acme ${stamp}`;
  const sentOverWebSockets = recordWebSocketFrames(page);

  await test.step('the founder signs up', async () => {
    await page.goto(consolePage('/sign-up'));
    await submitSignUp(page, founder);
    await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();
    await expect(page.getByRole('status')).toContainText(founder.email);
  });

  await test.step('the mailed verification link verifies the address', async () => {
    const link = await verificationLink(founder.email);
    expect(new URL(link).pathname).toBe('/verify-email');
    await page.goto(mailedLinkUrl(link));
    await expect(page).toHaveURL(/\/console\/verify-email\?token=/);
    await expect(page.getByRole('heading', { name: 'Your email is verified' })).toBeVisible();
    await expect(page.getByRole('status')).toContainText(founder.email);
  });

  await test.step('the founder signs in and creates the organization', async () => {
    // Signing up signed nobody in: Continue leads to the sign-in page.
    await page.getByRole('link', { name: 'Continue' }).click();
    await submitSignIn(page, founder.email, founder.password);
    await expect(page.getByRole('heading', { name: 'New organization' })).toBeVisible();
    await page.getByLabel('Name').fill(organizationName);
    await page.getByRole('button', { name: 'Create organization' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Members' })).toBeVisible();
    await expect(page.getByRole('rowheader', { name: founder.name })).toBeVisible();
  });

  await test.step('the founder invites the colleague', async () => {
    await openSection(page, 'Invitations');
    await page.getByLabel('Email addresses').fill(colleague.email);
    await page.getByLabel('Role', { exact: true }).selectOption('MEMBER');
    await page.getByRole('button', { name: 'Send invitations' }).click();
    await expect(page.getByRole('status').filter({ hasText: `Invitation sent to ${colleague.email}` })).toBeVisible();
    await expect(page.getByRole('rowheader', { name: colleague.email })).toBeVisible();
  });

  // The founder keeps the Members page open, following its live updates.
  await openSection(page, 'Members');
  await expect
    .poll(() => sentOverWebSockets.some((frame) => frame.includes('"subscribe"') && frame.includes('LiveOrganizationEvents') && frame.includes('MEMBER_ADDED')))
    .toBe(true);
  let reloads = 0;
  page.on('load', () => (reloads += 1));

  await test.step('in another browser, the colleague opens the invitation, signs up, verifies, signs in and accepts', async () => {
    const colleagueContext = await newContext();
    const other = await colleagueContext.newPage();
    await other.goto(mailedLinkUrl(await invitationLink(colleague.email, { name: organizationName })));
    await expect(other).toHaveURL(/\/console\/invitations\/accept\?token=/);
    await expect(other.getByText(`invited you to join ${organizationName}`)).toBeVisible();

    // Creating an account keeps the way back to the invitation (?next=).
    await other.getByRole('link', { name: 'Create an account' }).click();
    await expect(other).toHaveURL(/\/console\/sign-up\?next=%2Finvitations%2Faccept/);
    await submitSignUp(other, colleague);
    await expect(other.getByRole('heading', { name: 'Check your email' })).toBeVisible();

    // The verification link, opened from the mail in a tab of its own.
    const mailTab = await colleagueContext.newPage();
    await mailTab.goto(mailedLinkUrl(await verificationLink(colleague.email)));
    await expect(mailTab.getByRole('heading', { name: 'Your email is verified' })).toBeVisible();
    await mailTab.close();

    await other.getByRole('link', { name: 'Sign in' }).click();
    await submitSignIn(other, colleague.email, colleague.password);
    await expect(other).toHaveURL(/\/console\/invitations\/accept\?token=/);
    await expect(other.getByText(`Signed in as ${colleague.email}`)).toBeVisible();
    await other.getByRole('button', { name: 'Accept invitation' }).click();
    await expect(other.getByRole('heading', { level: 1, name: 'Members' })).toBeVisible();
    await expect(other.getByRole('rowheader', { name: new RegExp(colleague.name) })).toBeVisible();
  });

  await test.step('the colleague appears on the founder’s Members page without a reload', async () => {
    await expect(page.getByRole('rowheader', { name: colleague.name })).toBeVisible();
    expect(reloads).toBe(0);
  });

  await test.step('the founder makes the colleague an admin', async () => {
    const role = page.getByLabel(`Role of ${colleague.name}`);
    await expect(role).toHaveValue('MEMBER');
    await role.selectOption('ADMIN');
    await expect(page.getByRole('status').filter({ hasText: `Role of ${colleague.name} changed to Admin.` })).toBeVisible();
    await expect(role).toHaveValue('ADMIN');
  });

  await test.step('the last owner cannot demote themselves, and is told why in plain words', async () => {
    const own = page.getByLabel(`Role of ${founder.name}`);
    await own.selectOption('MEMBER');
    await expect(page.getByRole('alert')).toContainText('An organization must keep at least one owner');
    await expect(own).toHaveValue('OWNER');
  });

  await test.step('the audit log shows what happened', async () => {
    await openSection(page, 'Audit log');
    await settled(page);
    for (const action of ['Organization created', 'Invitation created', 'Invitation accepted (member joined)', 'Member role updated']) {
      await expect(page.getByRole('rowheader', { name: action, exact: true })).toHaveCount(1);
    }
    const roleChange = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'Member role updated' }) });
    await expect(roleChange).toContainText('Admin');
  });
});

/** Every text frame `page` sends over a WebSocket (graphql-ws messages), as it sends them. */
function recordWebSocketFrames(page: Page): string[] {
  const frames: string[] = [];
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => {
      if (typeof payload === 'string') frames.push(payload);
    });
  });
  return frames;
}
