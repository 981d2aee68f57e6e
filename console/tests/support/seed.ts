// An organization with something on every page, made through the API:
// members of several roles, a pending invitation, teams (one nested, with
// members), an API token, a domain waiting for verification, an IP
// allowlist entry, a draft SSO connection to the test IdP, and the audit
// entries all of that leaves.
import {
  addMember,
  createOrganization,
  gql,
  invite,
  setTier,
  signUp,
  uniqueEmail,
  type Organization,
  type Person,
} from './api';
import { stack } from './stack';

export interface SeededOrganization {
  owner: Person;
  organization: Organization;
  members: Array<Person & { memberId: string }>;
  teamId: string;
  /** The token of a pending invitation (for the accept page). */
  invitationToken: string;
}

export async function seedOrganization(): Promise<SeededOrganization> {
  const stamp = Date.now().toString(36);
  const owner = await signUp('Ada Owner');
  const organization = await createOrganization(owner, `Northwind ${stamp}`);
  await setTier(organization, 'ENTERPRISE');
  const members = [
    await addMember(owner, organization, 'Ben Admin', 'ADMIN'),
    await addMember(owner, organization, 'Cleo Member', 'MEMBER'),
    await addMember(owner, organization, 'Dev Viewer', 'VIEWER'),
  ];
  const { token: invitationToken } = await invite(owner, organization, uniqueEmail('pending'), 'MEMBER');

  const ownerToken = owner.accessToken;
  const organizationId = organization.id;
  const { createTeam: platform } = await gql<{ createTeam: { team: { id: string } } }>(
    `mutation ($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }`,
    { input: { organizationId, name: 'Platform', description: 'Runs the shared infrastructure' } },
    ownerToken,
  );
  await gql(`mutation ($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }`, {
    input: { organizationId, name: 'Platform Infra', parentTeamId: platform.team.id },
  }, ownerToken);
  for (const [member, role] of [
    [members[0], 'MAINTAINER'],
    [members[1], 'MEMBER'],
  ] as const) {
    if (!member) continue;
    await gql(
      `mutation ($input: TeamMemberInput!) { addTeamMember(input: $input) { teamMember { role } } }`,
      { input: { teamId: platform.team.id, memberId: member.memberId, role } },
      ownerToken,
    );
  }
  await gql(
    `mutation ($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`,
    { input: { organizationId, name: 'CI deploys', scopes: ['MEMBERS_VIEW', 'AUDIT_VIEW'], expiresInDays: 30 } },
    ownerToken,
  );
  await gql(`mutation ($input: DomainInput!) { addDomain(input: $input) { domain { domain } } }`, {
    input: { organizationId, domain: `northwind-${stamp}.test` },
  }, ownerToken);
  await gql(
    `mutation ($input: AddIpAllowlistEntryInput!) { addIpAllowlistEntry(input: $input) { entry { cidr } } }`,
    { input: { organizationId, cidr: '192.0.2.0/24', description: 'Office network' } },
    ownerToken,
  );
  const { idpIssuer, idpClient } = stack();
  await gql(
    `mutation ($input: CreateSsoConnectionInput!) { createSsoConnection(input: $input) { connection { id } } }`,
    {
      input: {
        organizationId,
        protocol: 'OIDC',
        issuerUrl: idpIssuer,
        clientId: idpClient.clientId,
        clientSecret: idpClient.clientSecret,
      },
    },
    ownerToken,
  );
  return { owner, organization, members, teamId: platform.team.id, invitationToken };
}
