// The organization's invitations: a form that invites one address or many
// at once (with what happened to each), and a table of invitations by
// status, where pending ones are sent again or withdrawn. The table
// follows the organization's invitation events live. Admins and owners
// only (members:manage).
import { useId, useState } from 'react';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { graphql } from '../gql';
import type {
  EventType,
  InvitationOutcome,
  InvitationStatus,
  InvitationsPageQuery,
  InvitationsSendManyMutation,
  Role,
} from '../gql/graphql';
import { hasRole, useOrganization } from '../organization';
import { LiveStatus, useOrganizationEvents } from '../ui/live';
import { PageControls, useCursorPages } from '../ui/paging';
import { Empty, ErrorNote, Loading, Notice, Page, SecretOnce, SelectField, When } from '../ui/kit';
import './Invitations.css';

const InvitationsPage = graphql(`
  query InvitationsPage($organizationId: ID!, $status: InvitationStatus, $first: Int, $after: String) {
    organization(id: $organizationId) {
      id
      invitations(status: $status, first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          email
          role
          guest
          status
          expiresAt
          createdAt
          invitedBy {
            id
            name
          }
        }
      }
    }
  }
`);

const InvitationsSendOne = graphql(`
  mutation InvitationsSendOne($input: CreateInvitationInput!) {
    createInvitation(input: $input) {
      invitation {
        id
        email
      }
      acceptUrl
    }
  }
`);

const InvitationsSendMany = graphql(`
  mutation InvitationsSendMany($input: CreateInvitationsInput!) {
    createInvitations(input: $input) {
      results {
        email
        outcome
        invitation {
          id
        }
      }
    }
  }
`);

const InvitationsResend = graphql(`
  mutation InvitationsResend($input: ResendInvitationInput!) {
    resendInvitation(input: $input) {
      invitation {
        id
        email
        status
        expiresAt
      }
      acceptUrl
    }
  }
`);

const InvitationsRevoke = graphql(`
  mutation InvitationsRevoke($input: InvitationIdInput!) {
    revokeInvitation(input: $input) {
      invitation {
        id
        status
      }
    }
  }
`);

type InvitationRow = NonNullable<InvitationsPageQuery['organization']>['invitations']['nodes'][number];
type InvitationResult = InvitationsSendManyMutation['createInvitations']['results'][number];

const NOUN = ['invitation', 'invitations'] as const;
const PAGE_SIZE = 20;

const INVITATION_EVENTS: EventType[] = [
  'INVITATION_CREATED',
  'INVITATION_RESENT',
  'INVITATION_REVOKED',
  'INVITATION_ACCEPTED',
  'INVITATION_DECLINED',
];

/** Tells urql's document cache that a change to any Invitation makes the list stale. */
const INVITATIONS_CONTEXT = { additionalTypenames: ['Invitation'] };

const ROLE_NAMES: Record<Role, string> = {
  OWNER: 'Owner',
  ADMIN: 'Admin',
  MEMBER: 'Member',
  VIEWER: 'Viewer',
  BILLING: 'Billing',
};

const STATUS_NAMES: Record<InvitationStatus, string> = {
  PENDING: 'Pending',
  ACCEPTED: 'Accepted',
  DECLINED: 'Declined',
  REVOKED: 'Revoked',
  EXPIRED: 'Expired',
};

const STATUS_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ...(Object.entries(STATUS_NAMES) as Array<[InvitationStatus, string]>),
  ['', 'All statuses'],
];

const OUTCOME_WORDS: Record<InvitationOutcome, string> = {
  CREATED: 'Invited',
  ALREADY_MEMBER: 'Not invited: already a member',
  ALREADY_INVITED: 'Not invited: already invited (resend that invitation instead)',
  REFUSED_BY_DOMAIN_POLICY: "Not invited: the organization's allowed email domains leave this address out",
};

/** What the last action did: a refusal, a message, a link to show once. */
interface Feedback {
  error?: CombinedError;
  done?: string;
  link?: { email: string; url: string };
  results?: InvitationResult[];
}

export function Invitations() {
  const organization = useOrganization();
  if (!hasRole(organization, 'ADMIN')) {
    return (
      <Page title="Invitations">
        <Empty>Only admins and owners see and send invitations.</Empty>
      </Page>
    );
  }
  return <ManageInvitations />;
}

function ManageInvitations() {
  const organization = useOrganization();
  const [status, setStatus] = useState<InvitationStatus | ''>('PENDING');
  const pages = useCursorPages(status);
  const [feedback, setFeedback] = useState<Feedback>({});
  const [result, reexecute] = useQuery({
    query: InvitationsPage,
    variables: { organizationId: organization.id, status: status || null, first: PAGE_SIZE, after: pages.after },
    context: INVITATIONS_CONTEXT,
  });
  const refetchFromServer = () => reexecute({ requestPolicy: 'network-only' });
  const invitations = result.data?.organization?.invitations;
  // Answered, but without the list (refused, or no longer a member): nothing to follow.
  const unavailable = !invitations && (result.data !== undefined || result.error !== undefined);
  const live = useOrganizationEvents(organization.id, INVITATION_EVENTS, refetchFromServer, unavailable);

  return (
    <Page title="Invitations" actions={<LiveStatus {...live} />}>
      <h2>Invite people</h2>
      <InviteForm onOutcome={setFeedback} />
      <FeedbackNotes feedback={feedback} />

      <h2>Sent invitations</h2>
      <form className="inline invitations-filter" onSubmit={(event) => event.preventDefault()}>
        <SelectField
          label="Status"
          name="status"
          options={STATUS_OPTIONS}
          value={status}
          onChange={(event) => setStatus(event.target.value as InvitationStatus | '')}
        />
      </form>
      <ErrorNote error={result.error} />
      {!invitations ? (
        result.fetching ? (
          <Loading rows={3} label="Loading invitations" />
        ) : result.error ? null : (
          <Empty>You cannot see this organization&apos;s invitations.</Empty>
        )
      ) : invitations.nodes.length === 0 ? (
        <Empty>{status ? `No ${STATUS_NAMES[status].toLowerCase()} invitations.` : 'No invitations yet.'}</Empty>
      ) : (
        <>
          <InvitationsTable invitations={invitations.nodes} onOutcome={setFeedback} />
          <PageControls
            noun={NOUN}
            pageSize={PAGE_SIZE}
            pages={pages}
            shown={invitations.nodes.length}
            total={invitations.totalCount}
            pageInfo={invitations.pageInfo}
          />
        </>
      )}
    </Page>
  );
}

/** The invite form: one address → createInvitation, several → createInvitations. */
function InviteForm({ onOutcome }: { onOutcome: (feedback: Feedback) => void }) {
  const organization = useOrganization();
  const viewerRole = organization.viewerMembership?.role;
  const [addresses, setAddresses] = useState('');
  const [role, setRole] = useState<Role>('MEMBER');
  const [sendOneResult, sendOne] = useMutation(InvitationsSendOne);
  const [sendManyResult, sendMany] = useMutation(InvitationsSendMany);
  const textareaId = useId();
  const sending = sendOneResult.fetching || sendManyResult.fetching;

  const submit = async () => {
    const emails = parseAddresses(addresses);
    if (emails.length === 0) return;
    if (emails.length === 1) {
      const email = emails[0] ?? '';
      const outcome = await sendOne({ input: { organizationId: organization.id, email, role } });
      const sent = outcome.data?.createInvitation;
      if (!sent) return onOutcome({ error: outcome.error });
      setAddresses('');
      return onOutcome({ done: `Invitation sent to ${sent.invitation.email}.`, link: { email, url: sent.acceptUrl } });
    }
    const outcome = await sendMany({
      input: { organizationId: organization.id, invitations: emails.map((email) => ({ email, role })) },
    });
    const results = outcome.data?.createInvitations.results;
    if (!results) return onOutcome({ error: outcome.error });
    setAddresses('');
    const invited = results.filter((one) => one.outcome === 'CREATED').length;
    onOutcome({ done: `${invited} of ${results.length} addresses invited.`, results });
  };

  return (
    <form
      className="form-narrow invitations-form"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <div className="field">
        <label htmlFor={textareaId}>Email addresses</label>
        <textarea
          id={textareaId}
          name="emails"
          rows={3}
          required
          autoComplete="off"
          aria-describedby={`${textareaId}-hint`}
          value={addresses}
          onChange={(event) => setAddresses(event.target.value)}
        />
        <small id={`${textareaId}-hint`} className="hint">
          One per line, or separated by commas; up to 100.
        </small>
      </div>
      <SelectField
        label="Role"
        name="role"
        options={invitableRoles(viewerRole).map((one) => [one, ROLE_NAMES[one]] as const)}
        value={role}
        onChange={(event) => setRole(event.target.value as Role)}
      />
      <button type="submit" className="button button-primary" disabled={sending}>
        Send invitations
      </button>
    </form>
  );
}

/** What the last action did, under the form. */
function FeedbackNotes({ feedback }: { feedback: Feedback }) {
  return (
    <>
      <ErrorNote error={feedback.error} />
      {feedback.done ? <Notice>{feedback.done}</Notice> : null}
      {feedback.link ? (
        <SecretOnce label={`Invitation link for ${feedback.link.email}.`} value={feedback.link.url} />
      ) : null}
      {feedback.results ? <InvitationResults results={feedback.results} /> : null}
    </>
  );
}

function InvitationResults({ results }: { results: InvitationResult[] }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="What happened to each address">
      <table className="invitations-results">
        <caption>What happened to each address</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {results.map((one) => (
            <tr key={one.email}>
              <th scope="row">{one.email}</th>
              <td>{OUTCOME_WORDS[one.outcome]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function InvitationsTable({
  invitations,
  onOutcome,
}: {
  invitations: InvitationRow[];
  onOutcome: (feedback: Feedback) => void;
}) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Invitations table">
      <table className="invitations-table">
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Expires</th>
            <th scope="col">Invited by</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {invitations.map((invitation) => (
            <InvitationTableRow key={invitation.id} invitation={invitation} onOutcome={onOutcome} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function InvitationTableRow({
  invitation,
  onOutcome,
}: {
  invitation: InvitationRow;
  onOutcome: (feedback: Feedback) => void;
}) {
  const [resendResult, resend] = useMutation(InvitationsResend);
  const [revokeResult, revoke] = useMutation(InvitationsRevoke);
  const { email } = invitation;
  const resendable = invitation.status === 'PENDING' || invitation.status === 'EXPIRED';
  const revocable = invitation.status === 'PENDING';
  return (
    <tr>
      <th scope="row">{email}</th>
      <td>
        {ROLE_NAMES[invitation.role]}
        {invitation.guest ? <span className="badge invitations-guest">Guest</span> : null}
      </td>
      <td>{STATUS_NAMES[invitation.status]}</td>
      <td>
        <When at={invitation.expiresAt} />
      </td>
      <td>{invitation.invitedBy?.name ?? <span className="hint">Account deleted</span>}</td>
      <td>
        <span className="invitations-actions">
          {resendable ? (
            <button
              type="button"
              className="button"
              aria-label={`Resend invitation to ${email}`}
              disabled={resendResult.fetching}
              onClick={() => {
                void resend({ input: { invitationId: invitation.id } }).then((outcome) => {
                  const sent = outcome.data?.resendInvitation;
                  onOutcome(
                    sent
                      ? {
                          done: `Invitation to ${email} sent again; the earlier link no longer works.`,
                          link: { email, url: sent.acceptUrl },
                        }
                      : { error: outcome.error },
                  );
                });
              }}
            >
              Resend
            </button>
          ) : null}
          {revocable ? (
            <button
              type="button"
              className="button button-danger"
              aria-label={`Revoke invitation to ${email}`}
              disabled={revokeResult.fetching}
              onClick={() => {
                void revoke({ input: { invitationId: invitation.id } }).then((outcome) =>
                  onOutcome(outcome.error ? { error: outcome.error } : { done: `Invitation to ${email} revoked.` }),
                );
              }}
            >
              Revoke
            </button>
          ) : null}
        </span>
      </td>
    </tr>
  );
}

/** The distinct addresses of a textarea: one per line, or separated by commas, semicolons or spaces. */
function parseAddresses(text: string): string[] {
  const addresses = text
    .split(/[\s,;]+/)
    .map((address) => address.trim().toLowerCase())
    .filter(Boolean);
  return [...new Set(addresses)];
}

/** The roles a viewer may offer: at most their own, OWNER only by an OWNER. */
function invitableRoles(viewerRole: Role | undefined): Role[] {
  const roles: Role[] = ['MEMBER', 'VIEWER', 'BILLING'];
  if (viewerRole === 'OWNER' || viewerRole === 'ADMIN') roles.push('ADMIN');
  if (viewerRole === 'OWNER') roles.push('OWNER');
  return roles;
}
