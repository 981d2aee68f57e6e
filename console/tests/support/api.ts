// The server's GraphQL API, over fetch: for seeding what a test is not
// about (accounts, organizations, members), so that the browser spends its
// time on the pages under test.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { linkIn, waitForMail } from './mail';
import { stack } from './stack';

export class GraphQLRefusal extends Error {
  constructor(
    readonly operation: string,
    readonly errors: Array<{ message: string; extensions?: { code?: string } }>,
  ) {
    super(`${operation}: ${errors.map((e) => `${e.extensions?.code ?? '?'}: ${e.message}`).join('; ')}`);
  }
}

/** Runs one operation; throws on any error in the answer. */
export async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const response = await fetch(`${stack().serverUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const operation = /(query|mutation)\s*\w*[^{]*\{\s*(\w+)/.exec(query)?.[2] ?? 'operation';
  const text = await response.text();
  let answer: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new Error(`${operation}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  }
  if (answer.errors?.length) throw new GraphQLRefusal(operation, answer.errors);
  if (!answer.data) throw new Error(`${operation}: no data (HTTP ${response.status})`);
  return answer.data;
}

let serial = 0;

/** An address nobody else in this run has: `label.<time><n>@e2e.test`. */
export function uniqueEmail(label: string): string {
  serial += 1;
  const local = label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `${local}.${Date.now().toString(36)}${serial}@e2e.test`;
}

/** A password the server does not find easy to guess. */
export const PASSWORD = 'Plover-Tundra-Quill-4821';

export interface Person {
  name: string;
  email: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: string;
}

const AUTH_FIELDS = 'accessToken refreshToken accessTokenExpiresAt user { id } mfaChallenge { challenge }';

interface AuthPayload {
  accessToken: string | null;
  refreshToken: string | null;
  accessTokenExpiresAt: string | null;
  user: { id: string };
  mfaChallenge: { challenge: string } | null;
}

/** Signs up through the API without verifying the address (the mail waits in the mail directory). */
export async function signUpUnverified(name: string, email = uniqueEmail(name)): Promise<{ name: string; email: string; password: string }> {
  await gql(`mutation ($input: SignUpInput!) { signUp(input: $input) { user { id } } }`, {
    input: { name, email, password: PASSWORD },
  });
  return { name, email, password: PASSWORD };
}

/** The token of the newest verification link mailed to `email`. */
export async function verificationLink(email: string, count = 1): Promise<string> {
  return linkIn(await waitForMail(email, /^Confirm your email address$/, { count }), '/verify-email');
}

/** Signs someone up, opens their verification link (over the API) and signs them in. */
export async function signUp(name: string, email = uniqueEmail(name)): Promise<Person> {
  await signUpUnverified(name, email);
  const token = new URL(await verificationLink(email)).searchParams.get('token');
  await gql(`mutation ($input: VerifyEmailInput!) { verifyEmail(input: $input) { user { id } } }`, { input: { token } });
  return logIn(name, email);
}

export async function logIn(name: string, email: string, password = PASSWORD): Promise<Person> {
  const { logIn: payload } = await gql<{ logIn: AuthPayload }>(
    `mutation ($input: LogInInput!) { logIn(input: $input) { ${AUTH_FIELDS} } }`,
    { input: { email, password } },
  );
  if (!payload.accessToken || !payload.refreshToken || !payload.accessTokenExpiresAt) {
    throw new Error(`logIn for ${email} asked for a second factor`);
  }
  return {
    name,
    email,
    password,
    userId: payload.user.id,
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    accessTokenExpiresAt: payload.accessTokenExpiresAt,
  };
}

export interface Organization {
  id: string;
  name: string;
  slug: string;
}

export async function createOrganization(owner: Person, name: string): Promise<Organization> {
  const { createOrganization } = await gql<{ createOrganization: { organization: Organization } }>(
    `mutation ($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id name slug } } }`,
    { input: { name } },
    owner.accessToken,
  );
  return createOrganization.organization;
}

/** Invites `email`; answers the invitation's id and token. */
export async function invite(
  by: Person,
  organization: Organization,
  email: string,
  role = 'MEMBER',
): Promise<{ id: string; token: string }> {
  const { createInvitation } = await gql<{ createInvitation: { invitation: { id: string }; token: string } }>(
    `mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } token } }`,
    { input: { organizationId: organization.id, email, role } },
    by.accessToken,
  );
  return { id: createInvitation.invitation.id, token: createInvitation.token };
}

/** The accept link of the newest invitation to `organization` mailed to `email`. */
export async function invitationLink(email: string, organization: { name: string }): Promise<string> {
  const mail = await waitForMail(email, new RegExp(`^You are invited to join ${escapeRegExp(organization.name)}$`));
  return linkIn(mail, '/invitations/accept');
}

/**
 * Signs `name` up and makes them a member of `organization` with `role`,
 * through an accepted invitation; answers them and their membership's id.
 */
export async function addMember(
  owner: Person,
  organization: Organization,
  name: string,
  role = 'MEMBER',
): Promise<Person & { memberId: string }> {
  const email = uniqueEmail(name);
  const { token } = await invite(owner, organization, email, role);
  const person = await signUp(name, email);
  const { acceptInvitation } = await gql<{ acceptInvitation: { member: { id: string } } }>(
    `mutation ($input: InvitationResponseInput!) { acceptInvitation(input: $input) { member { id } } }`,
    { input: { token } },
    person.accessToken,
  );
  return { ...person, memberId: acceptInvitation.member.id };
}

/**
 * Makes `email` a platform administrator with `orgql admin grant`, run on
 * the test server's database, as an operator would.
 */
export async function grantPlatformAdmin(email: string): Promise<void> {
  const { binary, databaseUrl } = stack();
  await promisify(execFile)(binary, ['admin', 'grant', email], {
    env: { PATH: process.env.PATH ?? '', ORGQL_DATABASE_URL: databaseUrl },
  });
}

let platformAdmin: Promise<Person> | undefined;

/** A platform administrator (made once per worker). */
export function platformAdministrator(): Promise<Person> {
  platformAdmin ??= (async () => {
    const person = await signUp('Platform Admin');
    await grantPlatformAdmin(person.email);
    return logIn(person.name, person.email);
  })();
  return platformAdmin;
}

/** Sets the organization's plan, as a platform administrator does. */
export async function setTier(organization: Organization, tier: 'FREE' | 'STARTER' | 'TEAM' | 'ENTERPRISE'): Promise<void> {
  const admin = await platformAdministrator();
  await gql(
    `mutation ($input: SetOrganizationTierInput!) { setOrganizationTier(input: $input) { organization { id tier } } }`,
    { input: { organizationId: organization.id, tier } },
    admin.accessToken,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
