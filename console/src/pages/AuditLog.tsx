// The organization's audit log, newest first: when, who, what (in words),
// on what, and a short summary of the change. Filters by action, actor and
// date range; scrolling to the bottom loads the next page by cursor (with a
// "Load more" button for keyboards and as a fallback). Changing a filter
// starts again from the first page. Needs audit:view (owners and admins).
import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import type { AuditAction, AuditLogFilter, AuditLogPageQuery, AuditLogPageQueryVariables } from '../gql/graphql';
import { errorCode } from '../errors';
import { hasRole, useOrganization, type CurrentOrganization } from '../organization';
import { Empty, ErrorNote, Field, Loading, Page, SelectField, When } from '../ui/kit';
import './AuditLog.css';

const AuditLogPage = graphql(`
  query AuditLogPage($id: ID!, $first: Int, $after: String, $filter: AuditLogFilter) {
    organization(id: $id) {
      id
      auditLog(first: $first, after: $after, filter: $filter) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          action
          actor {
            id
            email
            kind
          }
          resourceType
          resourceId
          metadata
          ipAddress
          userAgent
          requestId
          createdAt
        }
      }
    }
  }
`);

/** Who may appear as an actor: the members (people) of the organization. */
const AuditLogMembers = graphql(`
  query AuditLogMembers($id: ID!) {
    organization(id: $id) {
      id
      members(first: 100) {
        nodes {
          id
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

/** …and its API tokens (tokens:manage; left out when refused). */
const AuditLogTokens = graphql(`
  query AuditLogTokens($id: ID!) {
    organization(id: $id) {
      id
      apiTokens {
        id
        name
      }
    }
  }
`);

// A field the viewer's role may not read comes back absent (with its
// FORBIDDEN error), though the schema calls it non-null: hence the `?.` on
// `auditLog`, `members` and `apiTokens` below.
type AuditEntry = NonNullable<AuditLogPageQuery['organization']>['auditLog']['nodes'][number];

const PAGE_SIZE = 50;

/** Every action, with the area it belongs to (the action filter's groups). */
const ACTION_AREAS = {
  USER_SIGNED_UP: 'Accounts',
  USER_LOGGED_IN: 'Accounts',
  USER_LOCKED_OUT: 'Accounts',
  USER_MFA_CHALLENGED: 'Accounts',
  USER_MFA_VERIFIED: 'Accounts',
  USER_MFA_FAILED: 'Accounts',
  USER_TOTP_ENROLLED: 'Accounts',
  USER_MFA_ENABLED: 'Accounts',
  USER_MFA_DISABLED: 'Accounts',
  USER_EMAIL_VERIFIED: 'Accounts',
  USER_VERIFICATION_EMAIL_SENT: 'Accounts',
  USER_EMAIL_CHANGE_REQUESTED: 'Accounts',
  USER_EMAIL_CHANGED: 'Accounts',
  USER_PASSWORD_CHANGED: 'Accounts',
  USER_PASSWORD_RESET_REQUESTED: 'Accounts',
  USER_PASSWORD_RESET: 'Accounts',
  USER_SIGN_IN_LINK_SENT: 'Accounts',
  USER_SIGN_IN_LINK_REFUSED: 'Accounts',
  USER_GUEST_CONVERTED: 'Accounts',
  USER_PLATFORM_ADMIN_GRANTED: 'Accounts',
  SESSION_REFRESHED: 'Sessions',
  SESSION_LOGGED_OUT: 'Sessions',
  SESSION_LOGGED_OUT_EVERYWHERE: 'Sessions',
  SESSION_REVOKED: 'Sessions',
  SESSION_REVOKED_ON_REUSE: 'Sessions',
  SESSION_ORGANIZATION_SWITCHED: 'Sessions',
  ORGANIZATION_CREATED: 'Organization',
  ORGANIZATION_UPDATED: 'Organization',
  ORGANIZATION_DELETED: 'Organization',
  ORGANIZATION_SUSPENDED: 'Organization',
  ORGANIZATION_REACTIVATED: 'Organization',
  ORGANIZATION_READ_BY_PLATFORM_ADMIN: 'Organization',
  ORGANIZATION_SESSIONS_REVOKED: 'Organization',
  MEMBER_ROLE_UPDATED: 'Members',
  MEMBER_REMOVED: 'Members',
  MEMBER_LEFT: 'Members',
  MEMBER_JOINED_BY_DOMAIN: 'Members',
  MEMBER_PROVISIONED: 'Members',
  MEMBER_DEPROVISIONED: 'Members',
  INVITATION_CREATED: 'Invitations and join codes',
  INVITATION_RESENT: 'Invitations and join codes',
  INVITATION_REVOKED: 'Invitations and join codes',
  INVITATION_ACCEPTED: 'Invitations and join codes',
  INVITATION_DECLINED: 'Invitations and join codes',
  JOIN_CODE_CREATED: 'Invitations and join codes',
  JOIN_CODE_REVOKED: 'Invitations and join codes',
  JOIN_CODE_USED: 'Invitations and join codes',
  JOIN_CODE_GUEST_LINK_MAILED: 'Invitations and join codes',
  TEAM_CREATED: 'Teams',
  TEAM_UPDATED: 'Teams',
  TEAM_DELETED: 'Teams',
  TEAM_MEMBER_ADDED: 'Teams',
  TEAM_MEMBER_ROLE_UPDATED: 'Teams',
  TEAM_MEMBER_REMOVED: 'Teams',
  POLICY_UPDATED: 'Policy, network and domains',
  IP_ALLOWLIST_ENTRY_ADDED: 'Policy, network and domains',
  IP_ALLOWLIST_ENTRY_REMOVED: 'Policy, network and domains',
  DOMAIN_ADDED: 'Policy, network and domains',
  DOMAIN_VERIFIED: 'Policy, network and domains',
  DOMAIN_REMOVED: 'Policy, network and domains',
  SSO_CONNECTION_CREATED: 'Single sign-on',
  SSO_CONNECTION_UPDATED: 'Single sign-on',
  SSO_CONNECTION_TEST_STARTED: 'Single sign-on',
  SSO_CONNECTION_TESTED: 'Single sign-on',
  SSO_CONNECTION_ACTIVATED: 'Single sign-on',
  SSO_CONNECTION_DEACTIVATED: 'Single sign-on',
  SSO_CONNECTION_DELETED: 'Single sign-on',
  USER_SSO_SIGNED_IN: 'Single sign-on',
  SSO_CODE_EXCHANGED: 'Single sign-on',
  API_TOKEN_CREATED: 'API tokens',
  API_TOKEN_REVOKED: 'API tokens',
  OWNERSHIP_TRANSFER_OFFERED: 'Ownership and plan',
  OWNERSHIP_TRANSFERRED: 'Ownership and plan',
  OWNERSHIP_TRANSFER_DECLINED: 'Ownership and plan',
  OWNERSHIP_TRANSFER_CANCELLED: 'Ownership and plan',
  TIER_SET: 'Ownership and plan',
  TIER_UPGRADE_REQUESTED: 'Ownership and plan',
  TIER_UPGRADE_APPROVED: 'Ownership and plan',
  TIER_UPGRADE_REJECTED: 'Ownership and plan',
  SCIM_DIRECTORY_CREATED: 'Directory sync (SCIM)',
  SCIM_DIRECTORY_UPDATED: 'Directory sync (SCIM)',
  SCIM_DIRECTORY_TOKEN_ROTATED: 'Directory sync (SCIM)',
  SCIM_DIRECTORY_TOKEN_REVOKED: 'Directory sync (SCIM)',
  SCIM_DIRECTORY_DELETED: 'Directory sync (SCIM)',
  SCIM_USER_CREATED: 'Directory sync (SCIM)',
  SCIM_USER_UPDATED: 'Directory sync (SCIM)',
  SCIM_USER_DELETED: 'Directory sync (SCIM)',
  SCIM_GROUP_UPDATED: 'Directory sync (SCIM)',
  SCIM_CHANGE_REFUSED: 'Directory sync (SCIM)',
  WEBHOOK_ENDPOINT_CREATED: 'Webhooks',
  WEBHOOK_ENDPOINT_UPDATED: 'Webhooks',
  WEBHOOK_ENDPOINT_SECRET_ROTATED: 'Webhooks',
  WEBHOOK_ENDPOINT_DISABLED: 'Webhooks',
  WEBHOOK_ENDPOINT_DELETED: 'Webhooks',
  WEBHOOK_REDELIVERY_REQUESTED: 'Webhooks',
} satisfies Record<AuditAction, string>;

/** Where the plain reading of the name says too little. */
const ACTION_LABEL_OVERRIDES: Partial<Record<AuditAction, string>> = {
  INVITATION_ACCEPTED: 'Invitation accepted (member joined)',
  JOIN_CODE_USED: 'Join code used (member joined)',
  TIER_SET: 'Plan set',
  TIER_UPGRADE_REQUESTED: 'Plan upgrade requested',
  TIER_UPGRADE_APPROVED: 'Plan upgrade approved',
  TIER_UPGRADE_REJECTED: 'Plan upgrade rejected',
};

const ACRONYMS = new Set(['api', 'sso', 'ip', 'mfa', 'totp', 'scim']);

/** `MEMBER_ROLE_UPDATED` → "Member role updated"; `API_TOKEN_CREATED` → "API token created". */
function sentenceCase(constant: string): string {
  const words = constant.toLowerCase().split('_');
  return words
    .map((word, index) =>
      ACRONYMS.has(word) ? word.toUpperCase() : index === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word,
    )
    .join(' ');
}

function actionLabel(action: AuditAction): string {
  return ACTION_LABEL_OVERRIDES[action] ?? sentenceCase(action);
}

/** The action filter's options, grouped by area, in the order of the schema. */
const ACTION_GROUPS: ReadonlyArray<readonly [string, AuditAction[]]> = (() => {
  const groups = new Map<string, AuditAction[]>();
  for (const [action, area] of Object.entries(ACTION_AREAS) as Array<[AuditAction, string]>) {
    groups.set(area, [...(groups.get(area) ?? []), action]);
  }
  return [...groups.entries()];
})();

/** What the filter form holds: plain strings, empty for "any". */
interface FilterForm {
  action: string;
  actorId: string;
  from: string;
  to: string;
}

const NO_FILTER: FilterForm = { action: '', actorId: '', from: '', to: '' };

/** The API's filter for the form: dates are whole local days, "To" included. */
function toApiFilter(form: FilterForm): AuditLogFilter | null {
  const filter: AuditLogFilter = {};
  if (form.action) filter.actions = [form.action as AuditAction];
  if (form.actorId) filter.actorId = form.actorId;
  if (form.from) filter.since = startOfLocalDay(form.from, 0);
  if (form.to) filter.until = startOfLocalDay(form.to, 1);
  return Object.keys(filter).length > 0 ? filter : null;
}

/** `2025-03-01` (+ `days`) at local midnight, as RFC 3339. */
function startOfLocalDay(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(year ?? 1970, (month ?? 1) - 1, (day ?? 1) + days).toISOString();
}

/** Names for the ids entries carry: members, their users, and API tokens. */
type Names = ReadonlyMap<string, string>;

function useNames(organization: CurrentOrganization): {
  names: Names;
  actors: ReadonlyArray<readonly [string, string]>;
} {
  const [members] = useQuery({ query: AuditLogMembers, variables: { id: organization.id } });
  const [tokens] = useQuery({
    query: AuditLogTokens,
    variables: { id: organization.id },
    pause: !hasRole(organization, 'ADMIN'),
  });
  return useMemo(() => {
    const names = new Map<string, string>([[organization.id, organization.name]]);
    const actors: Array<readonly [string, string]> = [];
    for (const member of members.data?.organization?.members?.nodes ?? []) {
      const person = member.user.email ? `${member.user.name} (${member.user.email})` : member.user.name;
      names.set(member.id, member.user.name);
      names.set(member.user.id, member.user.name);
      actors.push([member.user.id, person]);
    }
    for (const token of tokens.data?.organization?.apiTokens ?? []) {
      names.set(token.id, token.name);
      actors.push([token.id, `API token “${token.name}”`]);
    }
    return { names, actors };
  }, [organization.id, organization.name, members.data, tokens.data]);
}

export function AuditLog() {
  const organization = useOrganization();
  const { names, actors } = useNames(organization);
  const [form, setForm] = useState<FilterForm>(NO_FILTER);
  // The cursors of the pages shown: null for the first.
  const [cursors, setCursors] = useState<ReadonlyArray<string | null>>([null]);
  const filter = useMemo(() => toApiFilter(form), [form]);

  const changeFilter = (next: FilterForm) => {
    setForm(next);
    setCursors([null]);
  };
  const loadAfter = useCallback((cursor: string) => {
    setCursors((shown) => (shown.includes(cursor) ? shown : [...shown, cursor]));
  }, []);
  const variablesAfter = (after: string | null): AuditLogPageQueryVariables => ({
    id: organization.id,
    first: PAGE_SIZE,
    after,
    filter,
  });
  // The first page (shared with its <EntryPage>): the count, and whether
  // the viewer may read the log at all.
  const [firstPage] = useQuery({ query: AuditLogPage, variables: variablesAfter(null) });
  const firstLog = firstPage.data?.organization?.auditLog;

  if (!firstLog && errorCode(firstPage.error) === 'FORBIDDEN') {
    return (
      <Page title="Audit log">
        <ErrorNote error={firstPage.error} />
        <p className="hint">The audit log is open to the organization&rsquo;s owners and admins.</p>
      </Page>
    );
  }
  return (
    <Page title="Audit log">
      <Filters form={form} actors={actors} onChange={changeFilter} />
      <h2 className="visually-hidden">Entries</h2>
      <p className="hint audit-total" aria-live="polite">
        {firstLog ? entryCount(firstLog.totalCount) : '\u00a0'}
      </p>
      {firstLog?.nodes.length === 0 ? null : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Audit log entries">
          <table className="audit-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Summary</th>
              </tr>
            </thead>
            {cursors.map((after) => (
              <EntryPage key={after ?? 'first'} variables={variablesAfter(after)} names={names} />
            ))}
          </table>
        </div>
      )}
      <MoreEntries variables={variablesAfter(cursors[cursors.length - 1] ?? null)} onMore={loadAfter} />
    </Page>
  );
}

function entryCount(total: number): string {
  return total === 1 ? '1 entry' : `${total} entries`;
}

function Filters({
  form,
  actors,
  onChange,
}: {
  form: FilterForm;
  actors: ReadonlyArray<readonly [string, string]>;
  onChange: (next: FilterForm) => void;
}) {
  const filtered = Object.values(form).some(Boolean);
  return (
    <form className="inline audit-filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
      <ActionSelect value={form.action} onChange={(action) => onChange({ ...form, action })} />
      <SelectField
        label="Actor"
        name="actor"
        options={[['', 'Anyone'], ...actors]}
        value={form.actorId}
        onChange={(event) => onChange({ ...form, actorId: event.target.value })}
      />
      <Field
        label="From"
        name="from"
        type="date"
        value={form.from}
        max={form.to || undefined}
        onChange={(event) => onChange({ ...form, from: event.target.value })}
      />
      <Field
        label="To"
        name="to"
        type="date"
        value={form.to}
        min={form.from || undefined}
        onChange={(event) => onChange({ ...form, to: event.target.value })}
      />
      {filtered ? (
        <button type="button" className="button" onClick={() => onChange(NO_FILTER)}>
          Clear filters
        </button>
      ) : null}
    </form>
  );
}

function ActionSelect({ value, onChange }: { value: string; onChange: (action: string) => void }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>Action</label>
      <select id={id} name="action" value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">All actions</option>
        {ACTION_GROUPS.map(([area, actions]) => (
          <optgroup key={area} label={area}>
            {actions.map((action) => (
              <option key={action} value={action}>
                {actionLabel(action)}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
    </div>
  );
}

/** One page of entries: its own <tbody>, so pages append without re-rendering the others. */
function EntryPage({ variables, names }: { variables: AuditLogPageQueryVariables; names: Names }) {
  const [{ data }] = useQuery({ query: AuditLogPage, variables });
  const entries = data?.organization?.auditLog?.nodes;
  if (!entries || entries.length === 0) return null;
  return (
    <tbody>
      {entries.map((entry) => (
        <EntryRow key={entry.id} entry={entry} names={names} />
      ))}
    </tbody>
  );
}

function EntryRow({ entry, names }: { entry: AuditEntry; names: Names }) {
  const summary = summarize(entry, names);
  return (
    <tr>
      <td className="audit-when">
        <When at={entry.createdAt} />
      </td>
      <td>
        <Actor actor={entry.actor} names={names} />
      </td>
      <th scope="row" className="audit-action">
        {actionLabel(entry.action)}
      </th>
      <td>
        <Target entry={entry} names={names} />
      </td>
      <td>
        {summary ? <span>{summary}</span> : null}
        <EntryDetails entry={entry} />
      </td>
    </tr>
  );
}

function Actor({ actor, names }: { actor: AuditEntry['actor']; names: Names }) {
  const name = actor.id ? names.get(actor.id) : undefined;
  switch (actor.kind) {
    case 'USER':
      return <span>{actor.email ?? name ?? actor.id ?? 'A person'}</span>;
    case 'PLATFORM_ADMIN':
      return <span>{actor.email ?? actor.id ?? 'A platform administrator'} (platform administrator)</span>;
    case 'API_TOKEN':
      return <span>{name ? `API token “${name}”` : `API token ${actor.id ?? ''}`}</span>;
    case 'DIRECTORY':
      return <span>Directory sync {actor.id ? <code>{actor.id}</code> : null}</span>;
    case 'SYSTEM':
      return <span>The system</span>;
  }
}

function Target({ entry, names }: { entry: AuditEntry; names: Names }) {
  const kind = sentenceCase(entry.resourceType.toUpperCase());
  if (!entry.resourceId) return <span>{kind}</span>;
  const name = names.get(entry.resourceId);
  return (
    <span>
      {kind} {name ? <strong>{name}</strong> : <code>{entry.resourceId}</code>}
    </span>
  );
}

/** Everything the entry recorded, folded away. */
function EntryDetails({ entry }: { entry: AuditEntry }) {
  return (
    <details className="audit-details">
      <summary>Details</summary>
      <dl>
        {entry.ipAddress ? <Detail term="Address" value={entry.ipAddress} /> : null}
        {entry.userAgent ? <Detail term="Client" value={entry.userAgent} /> : null}
        {entry.requestId ? <Detail term="Request id" value={entry.requestId} /> : null}
        <Detail term="Entry id" value={entry.id} />
      </dl>
      <pre className="audit-metadata">{JSON.stringify(entry.metadata, null, 2)}</pre>
    </details>
  );
}

function Detail({ term, value }: { term: string; value: string }) {
  return (
    <>
      <dt>{term}</dt>
      <dd>
        <code>{value}</code>
      </dd>
    </>
  );
}

/** A short line about what changed: "role: Member → Admin", "ann@acme.com as Member", … */
function summarize(entry: AuditEntry, names: Names): string {
  const metadata = asRecord(entry.metadata);
  if (!metadata) return '';
  const parts: string[] = [];
  const subject = typeof metadata.userId === 'string' ? names.get(metadata.userId) : undefined;
  if (subject && entry.action.startsWith('MEMBER_')) parts.push(subject);

  const before = asRecord(metadata.before);
  const after = asRecord(metadata.after);
  if (before && after) {
    for (const key of Object.keys({ ...before, ...after })) {
      if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
        parts.push(`${fieldLabel(key)}: ${plain(before[key])} → ${plain(after[key])}`);
      }
    }
  } else if (after ?? before) {
    const named = (after ?? before)?.name;
    if (typeof named === 'string') parts.push(`“${named}”`);
  }

  if (typeof metadata.name === 'string') parts.push(`“${metadata.name}”`);
  if (typeof metadata.email === 'string') parts.push(metadata.email);
  if (metadata.from !== undefined && metadata.to !== undefined) {
    parts.push(`${plain(metadata.from)} → ${plain(metadata.to)}`);
  }
  if (typeof metadata.role === 'string') parts.push(`as ${plain(metadata.role)}`);
  if (Array.isArray(metadata.scopes)) parts.push(`scopes: ${plain(metadata.scopes)}`);
  if (typeof metadata.reason === 'string') parts.push(`reason: ${plain(metadata.reason)}`);
  return parts.slice(0, 4).join('; ');
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `jwtExpirySecs` → "jwt expiry secs". */
function fieldLabel(key: string): string {
  return key.replace(/([A-Z])/g, ' $1').toLowerCase();
}

/** A metadata value in words: `ADMIN` → "Admin", `null` → "none". */
function plain(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (typeof value === 'string') return /^[A-Z][A-Z_]+$/.test(value) ? sentenceCase(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value === true ? 'yes' : value === false ? 'no' : String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(plain).join(', ');
  return JSON.stringify(value);
}

/**
 * The foot of the log: the last page's loading and error states, and the
 * next page, loaded when the sentinel scrolls into view or on "Load more".
 */
function MoreEntries({
  variables,
  onMore,
}: {
  variables: AuditLogPageQueryVariables;
  onMore: (cursor: string) => void;
}) {
  const [{ data, fetching, error }, reexecute] = useQuery({ query: AuditLogPage, variables });
  const log = data?.organization?.auditLog;
  const nextCursor = log?.pageInfo.hasNextPage ? log.pageInfo.endCursor : null;
  const sentinel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const node = sentinel.current;
    if (!nextCursor || fetching || !node || typeof IntersectionObserver === 'undefined') return;
    // Observing anew after each page also loads the next one when the page
    // did not fill the screen (the sentinel is still in view).
    const observer = new IntersectionObserver(
      (seen) => {
        if (seen.some((entry) => entry.isIntersecting)) onMore(nextCursor);
      },
      { rootMargin: '200px 0px' },
    );
    observer.observe(node);
    return () => observer.disconnect();
  }, [nextCursor, fetching, onMore]);

  const firstPage = !variables.after;
  if (firstPage && !log) {
    if (error) return <ErrorNote error={error} />;
    return fetching ? <Loading rows={5} label="Loading entries" /> : null;
  }
  if (firstPage && log?.nodes.length === 0) {
    return <Empty>{variables.filter ? 'No entries match these filters.' : 'No entries yet.'}</Empty>;
  }
  return (
    <div className="audit-more">
      <ErrorNote error={error} />
      <div ref={sentinel} className="audit-sentinel" aria-hidden="true" />
      {error && !log ? (
        <button type="button" className="button" onClick={() => reexecute({ requestPolicy: 'network-only' })}>
          Try again
        </button>
      ) : nextCursor || fetching ? (
        // Stays in place while the next page loads, so keyboard focus stays on it.
        <button
          type="button"
          className="button"
          aria-disabled={fetching || undefined}
          onClick={() => {
            if (nextCursor && !fetching) onMore(nextCursor);
          }}
        >
          {fetching ? 'Loading more…' : 'Load more'}
        </button>
      ) : (
        <p className="hint">That is the whole log{variables.filter ? ' for these filters' : ''}.</p>
      )}
    </div>
  );
}
