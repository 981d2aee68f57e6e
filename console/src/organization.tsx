// The organization a page is about: the `:organizationId` of the URL,
// read once by the layout and handed to every page below it, with the
// viewer's role there (pages hide what the role cannot do; the server
// decides regardless).
import { createContext, useContext } from 'react';
import type { OrganizationShellQuery, Role } from './gql/graphql';

export type CurrentOrganization = NonNullable<OrganizationShellQuery['organization']>;

export const OrganizationContext = createContext<CurrentOrganization | null>(null);

export function useOrganization(): CurrentOrganization {
  const organization = useContext(OrganizationContext);
  if (!organization) throw new Error('useOrganization outside an organization page');
  return organization;
}

/** Roles by rank, as the server ranks them: BILLING is a side role ranked with VIEWER. */
export const ROLE_RANK: Record<Role, number> = { OWNER: 4, ADMIN: 3, MEMBER: 2, VIEWER: 1, BILLING: 1 };

/** Whether the viewer's role is at least `role` (OWNER > ADMIN > MEMBER > VIEWER). */
export function hasRole(organization: CurrentOrganization, role: 'OWNER' | 'ADMIN' | 'MEMBER'): boolean {
  const own = organization.viewerMembership?.role;
  return own !== undefined && ROLE_RANK[own] >= ROLE_RANK[role];
}
