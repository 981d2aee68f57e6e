// The client in use: sign in, list organizations with their members,
// invite someone, create a team and add a member to it.
import {
  AddTeamMemberDocument,
  CreateTeamDocument,
  InviteMemberDocument,
  LogInDocument,
  OrganizationTeamsDocument,
  OrganizationsWithMembersDocument,
  type MemberRowFragment,
} from './generated/graphql.js';
import type { Role } from './generated/schema.js';
import { OrgqlRequestError, createClient } from './client.js';

/** Walks through the API at `url` (e.g. http://127.0.0.1:8000/graphql). */
export async function tour(url: string, email: string, password: string): Promise<void> {
  const anonymous = createClient({ url });
  const session = await anonymous(LogInDocument, { email, password });
  console.log(`signed in as ${session.logIn.user.name}`);

  // With multi-factor authentication on, logIn answers with a challenge
  // for verifyMfa instead of tokens.
  const token = session.logIn.accessToken;
  if (token === null || token === undefined) {
    const expires = session.logIn.mfaChallenge?.expiresAt ?? 'soon';
    console.log(`this account needs a code from its authenticator (challenge expires ${expires})`);
    return;
  }
  const request = createClient({ url, token });
  const { organizations } = await request(OrganizationsWithMembersDocument, { first: 10 });
  for (const { node: org } of organizations.edges) {
    const members: MemberRowFragment[] = org.members.edges.map((edge) => edge.node);
    console.log(`${org.name} (${org.tier}): ${members.length} of ${org.members.totalCount} members`);
  }

  const first = organizations.edges[0]?.node;
  if (first === undefined) {
    return;
  }
  const role: Role = 'MEMBER';
  try {
    const invited = await request(InviteMemberDocument, {
      organizationId: first.id,
      email: `guest-${Date.now()}@example.com`,
      role,
    });
    console.log(`invited ${invited.createInvitation.invitation.email}, expires ${invited.createInvitation.invitation.expiresAt}`);
  } catch (error) {
    // The codes are a schema enum, so this switch is checked by tsc.
    if (error instanceof OrgqlRequestError) {
      switch (error.code) {
        case 'TIER_LIMIT_EXCEEDED':
          console.log('the tier is full: upgrade to invite more people');
          return;
        case 'FORBIDDEN':
          console.log('only owners and admins invite');
          return;
        default:
          throw error;
      }
    }
    throw error;
  }

  const created = await request(CreateTeamDocument, {
    organizationId: first.id,
    name: `Team ${Date.now()}`,
    description: null,
  });
  const someone = first.members.edges[0]?.node;
  if (someone !== undefined) {
    const added = await request(AddTeamMemberDocument, {
      teamId: created.createTeam.team.id,
      memberId: someone.id,
    });
    console.log(`added ${someone.user.name} as ${added.addTeamMember.teamMember.role}`);
  }
  const { organization } = await request(OrganizationTeamsDocument, { slug: first.slug });
  console.log(`${organization?.teams.totalCount ?? 0} teams in ${first.slug}`);
}
