// The organization's members: a paged, searchable table of who belongs and
// with which role. Admins and owners change roles and remove people in
// place; the server's refusals (the last owner, rank rules, plan limits)
// show above the table. The table follows the organization's member
// events live, so joins, departures and role changes made elsewhere
// appear without a reload.
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { graphql } from '../gql';
import type { EventType, MembersPageQuery, Role } from '../gql/graphql';
import { ROLE_RANK, hasRole, useOrganization } from '../organization';
import { LiveStatus, useOrganizationEvents } from '../ui/live';
import { PageControls, useCursorPages } from '../ui/paging';
import { Empty, ErrorNote, Field, Loading, Notice, Page, SelectField, When } from '../ui/kit';
import './Members.css';

const MembersPage = graphql(`
  query MembersPage(
    $organizationId: ID!
    $first: Int
    $after: String
    $filter: MemberFilterInput
    $canManage: Boolean!
  ) {
    organization(id: $organizationId) {
      id
      members(first: $first, after: $after, filter: $filter) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          role
          joinedAt
          isGuest
          mfaEnabled @include(if: $canManage)
          user {
            id
            name
            email
          }
        }
      }
    }
  }
`);

const MembersUpdateRole = graphql(`
  mutation MembersUpdateRole($input: UpdateMemberRoleInput!) {
    updateMemberRole(input: $input) {
      member {
        id
        role
      }
    }
  }
`);

const MembersRemove = graphql(`
  mutation MembersRemove($input: RemoveMemberInput!) {
    removeMember(input: $input) {
      removedMemberId
    }
  }
`);

type MemberRow = NonNullable<MembersPageQuery['organization']>['members']['nodes'][number];

const NOUN = ['member', 'members'] as const;
const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 300;

/** The events that change who is in the table, or with which role. */
const MEMBER_EVENTS: EventType[] = ['MEMBER_ADDED', 'MEMBER_ROLE_CHANGED', 'MEMBER_REMOVED', 'INVITATION_ACCEPTED'];

/** Tells urql's document cache that a change to any Member makes the list stale. */
const MEMBERS_CONTEXT = { additionalTypenames: ['Member'] };

const ROLE_NAMES: Record<Role, string> = {
  OWNER: 'Owner',
  ADMIN: 'Admin',
  MEMBER: 'Member',
  VIEWER: 'Viewer',
  BILLING: 'Billing',
};

const ROLE_FILTER_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['', 'All roles'],
  ...(Object.entries(ROLE_NAMES) as Array<[Role, string]>),
];

/** What a message above the table says: a refusal, or what was done. */
interface Feedback {
  error?: CombinedError;
  done?: string;
}

export function Members() {
  const organization = useOrganization();
  const canManage = hasRole(organization, 'ADMIN');
  const [searchText, setSearchText] = useState('');
  const search = useDebounced(searchText.trim(), SEARCH_DELAY_MS);
  const [role, setRole] = useState<Role | ''>('');
  const filter = { search: search || null, role: role || null };
  const pages = useCursorPages(JSON.stringify(filter));
  const [feedback, setFeedback] = useState<Feedback>({});

  const [result, reexecute] = useQuery({
    query: MembersPage,
    variables: { organizationId: organization.id, first: PAGE_SIZE, after: pages.after, filter, canManage },
    context: MEMBERS_CONTEXT,
  });
  const refetchFromServer = () => reexecute({ requestPolicy: 'network-only' });
  const members = result.data?.organization?.members;
  // Answered, but without the list (refused, or no longer a member): nothing to follow.
  const unavailable = !members && (result.data !== undefined || result.error !== undefined);
  const live = useOrganizationEvents(organization.id, MEMBER_EVENTS, refetchFromServer, unavailable);

  return (
    <Page title="Members" actions={<LiveStatus {...live} />}>
      <form className="inline members-filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <Field
          label="Search members"
          type="search"
          name="search"
          placeholder="Name or email"
          value={searchText}
          onChange={(event) => setSearchText(event.target.value)}
        />
        <SelectField
          label="Role"
          name="role"
          options={ROLE_FILTER_OPTIONS}
          value={role}
          onChange={(event) => setRole(event.target.value as Role | '')}
        />
      </form>
      <ErrorNote error={feedback.error ?? result.error} />
      {feedback.done ? <Notice>{feedback.done}</Notice> : null}
      {!members ? (
        result.fetching ? (
          <Loading rows={5} label="Loading members" />
        ) : result.error ? null : (
          <Empty>You cannot see this organization&apos;s members.</Empty>
        )
      ) : members.nodes.length === 0 ? (
        <Empty>{search || role ? 'No members match.' : 'No members yet.'}</Empty>
      ) : (
        <>
          <MembersTable
            members={members.nodes}
            canManage={canManage}
            onOutcome={(outcome) => {
              setFeedback(outcome);
              refetchFromServer();
            }}
          />
          <PageControls
            noun={NOUN}
            pageSize={PAGE_SIZE}
            pages={pages}
            shown={members.nodes.length}
            total={members.totalCount}
            pageInfo={members.pageInfo}
          />
        </>
      )}
    </Page>
  );
}

function MembersTable({
  members,
  canManage,
  onOutcome,
}: {
  members: MemberRow[];
  canManage: boolean;
  onOutcome: (feedback: Feedback) => void;
}) {
  const organization = useOrganization();
  const viewerRole = organization.viewerMembership?.role;
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Members table">
      <table className="members-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Joined</th>
            <th scope="col">Guest</th>
            {canManage ? <th scope="col">MFA</th> : null}
            {canManage ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {members.map((member) => (
            <MemberTableRow
              key={member.id}
              member={member}
              viewerRole={viewerRole}
              isViewer={member.id === organization.viewerMembership?.id}
              canManage={canManage}
              onOutcome={onOutcome}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function MemberTableRow({
  member,
  viewerRole,
  isViewer,
  canManage,
  onOutcome,
}: {
  member: MemberRow;
  viewerRole: Role | undefined;
  isViewer: boolean;
  canManage: boolean;
  onOutcome: (feedback: Feedback) => void;
}) {
  const name = member.user.name;
  const manageable = canManage && outranks(viewerRole, member.role);
  return (
    <tr>
      <th scope="row">
        {name}
        {isViewer ? <span className="members-you"> (you)</span> : null}
      </th>
      <td>{member.user.email ?? <span className="hint">Hidden</span>}</td>
      <td>
        {manageable ? (
          <RoleSelect member={member} viewerRole={viewerRole} onOutcome={onOutcome} />
        ) : (
          ROLE_NAMES[member.role]
        )}
      </td>
      <td>
        <When at={member.joinedAt} />
      </td>
      <td>{member.isGuest ? <span className="badge">Guest</span> : <NotApplicable text="Not a guest" />}</td>
      {canManage ? <td>{member.mfaEnabled ? 'On' : 'Off'}</td> : null}
      {canManage ? (
        <td>
          {manageable && !isViewer ? <RemoveMemberButton member={member} onOutcome={onOutcome} /> : null}
        </td>
      ) : null}
    </tr>
  );
}

/** A dash for the eye, words for a screen reader. */
function NotApplicable({ text }: { text: string }) {
  return (
    <>
      <span aria-hidden="true">—</span>
      <span className="visually-hidden">{text}</span>
    </>
  );
}

/**
 * A member's role, changed on selection. While the change is on its way
 * (and until the list shows it) the select shows the chosen role; after a
 * refusal it shows the role the server still has.
 */
function RoleSelect({
  member,
  viewerRole,
  onOutcome,
}: {
  member: MemberRow;
  viewerRole: Role | undefined;
  onOutcome: (feedback: Feedback) => void;
}) {
  const [pending, setPending] = useState<{ from: Role; to: Role } | null>(null);
  const [{ fetching }, updateRole] = useMutation(MembersUpdateRole);
  const shown = pending && pending.from === member.role ? pending.to : member.role;
  const name = member.user.name;
  return (
    <select
      aria-label={`Role of ${name}`}
      value={shown}
      aria-busy={fetching}
      onChange={(event) => {
        const role = event.target.value as Role;
        setPending({ from: member.role, to: role });
        void updateRole({ input: { memberId: member.id, role } }).then((outcome) => {
          if (outcome.error) {
            setPending(null);
            onOutcome({ error: outcome.error });
          } else {
            onOutcome({ done: `Role of ${name} changed to ${ROLE_NAMES[role]}.` });
          }
        });
      }}
    >
      {assignableRoles(viewerRole, member.role).map((role) => (
        <option key={role} value={role}>
          {ROLE_NAMES[role]}
        </option>
      ))}
    </select>
  );
}

/**
 * Removes a member after a second press, in place. (The kit's
 * ConfirmButton takes no aria-label, and each row's button must name its
 * person.)
 */
function RemoveMemberButton({ member, onOutcome }: { member: MemberRow; onOutcome: (feedback: Feedback) => void }) {
  const [asking, setAsking] = useState(false);
  const [{ fetching }, remove] = useMutation(MembersRemove);
  const focusRemoveAgain = useRef(false);
  const name = member.user.name;

  if (!asking) {
    return (
      <button
        type="button"
        className="button button-danger"
        aria-label={`Remove ${name}`}
        disabled={fetching}
        ref={(button) => {
          if (button && focusRemoveAgain.current) {
            focusRemoveAgain.current = false;
            button.focus();
          }
        }}
        onClick={() => setAsking(true)}
      >
        Remove
      </button>
    );
  }
  return (
    <span className="confirm">
      <button
        type="button"
        className="button button-danger"
        aria-label={`Confirm removing ${name}`}
        autoFocus
        onClick={() => {
          setAsking(false);
          void remove({ input: { memberId: member.id } }).then((outcome) =>
            onOutcome(outcome.error ? { error: outcome.error } : { done: `${name} was removed.` }),
          );
        }}
      >
        Confirm
      </button>
      <button
        type="button"
        className="button"
        aria-label={`Cancel removing ${name}`}
        onClick={() => {
          focusRemoveAgain.current = true;
          setAsking(false);
        }}
      >
        Cancel
      </button>
    </span>
  );
}

/** `value`, once it stopped changing for `delay` ms. */
function useDebounced<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

/** Whether a viewer with `viewerRole` may change or remove a `role` (OWNER: anyone; ADMIN: below ADMIN). */
function outranks(viewerRole: Role | undefined, role: Role): boolean {
  if (viewerRole === 'OWNER') return true;
  return viewerRole === 'ADMIN' && ROLE_RANK[role] < ROLE_RANK.ADMIN;
}

/** The roles a viewer may give: at most their own, OWNER only by an OWNER; always the current one. */
function assignableRoles(viewerRole: Role | undefined, current: Role): Role[] {
  const own = viewerRole ? ROLE_RANK[viewerRole] : 0;
  return (Object.keys(ROLE_NAMES) as Role[]).filter(
    (role) => role === current || (role === 'OWNER' ? viewerRole === 'OWNER' : ROLE_RANK[role] <= own),
  );
}
