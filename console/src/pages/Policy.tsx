// The organization's governance policy: two-factor and single sign-on
// requirements, who may be invited or join (email domains, guests, joining
// by domain), session and invitation lifetimes, the longest API token
// lifetime, and the IP allowlist with "Add your address" so that turning it
// on does not lock the admin out. Saving sends only what changed. Admins
// change it; other roles read it (the allowlist itself is policies:manage,
// so it is not asked for).
import { useId, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { errorCode } from '../errors';
import { graphql } from '../gql';
import type { PolicyFieldsFragment, PolicyPageQuery, Role, UpdatePolicyInput } from '../gql/graphql';
import { hasRole, useOrganization } from '../organization';
import { Empty, ErrorNote, Field, Loading, Notice, Page, SelectField, When } from '../ui/kit';
import './Policy.css';

// The fields the form shows, read by the page and answered by the save
// (the preset adds the fragment to every document that spreads it).
graphql(`
  fragment PolicyFields on Policy {
    requireMfa
    ssoRequired
    sessionTimeoutHours
    invitationTtlHours
    allowedEmailDomains
    guestAccessEnabled
    autoJoinDomains
    defaultRole
    autoJoinOnSignIn
    ipAllowlistEnabled
    apiKeyMaxAgeDays
    updatedAt
  }
`);

const PolicyPage = graphql(`
  query PolicyPage($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      policy {
        ...PolicyFields
        updatedBy {
          id
          name
        }
      }
    }
  }
`);

const PolicyIpAllowlist = graphql(`
  query PolicyIpAllowlist($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      ipAllowlist {
        id
        cidr
        description
        createdAt
      }
    }
  }
`);

const PolicyYourAddress = graphql(`
  query PolicyYourAddress {
    viewer {
      ipAddress
    }
  }
`);

const PolicyUpdate = graphql(`
  mutation PolicyUpdate($input: UpdatePolicyInput!) {
    updatePolicy(input: $input) {
      policy {
        ...PolicyFields
      }
    }
  }
`);

const PolicyAddIp = graphql(`
  mutation PolicyAddIp($input: AddIpAllowlistEntryInput!) {
    addIpAllowlistEntry(input: $input) {
      entry {
        id
        cidr
      }
    }
  }
`);

const PolicyRemoveIp = graphql(`
  mutation PolicyRemoveIp($input: RemoveIpAllowlistEntryInput!) {
    removeIpAllowlistEntry(input: $input) {
      removedEntryId
    }
  }
`);

type Policy = NonNullable<PolicyPageQuery['organization']>['policy'];

export function Policy() {
  const organization = useOrganization();
  const canManage = hasRole(organization, 'ADMIN');
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: PolicyPage,
    variables: { organizationId: organization.id },
  });
  const policy = data?.organization?.policy;
  return (
    <Page title="Policy">
      <ErrorNote error={error} />
      {policy ? (
        <PolicyForm
          key={organization.id}
          organizationId={organization.id}
          policy={policy}
          canManage={canManage}
          onSaved={() => reexecute({ requestPolicy: 'network-only' })}
        />
      ) : fetching ? (
        <Loading rows={8} label="Loading the policy" />
      ) : null}
      {/* Below the policy, once it is there: nothing above it moves. */}
      {policy ? (
        <>
          <h2>IP allowlist</h2>
          <p>
            {policy.ipAllowlistEnabled
              ? 'Enforced: requests touching the organization must come from an address on the list.'
              : 'Not enforced: requests may come from any address.'}
          </p>
          {canManage ? <IpAllowlist organizationId={organization.id} /> : null}
        </>
      ) : null}
    </Page>
  );
}

/** The form's fields as typed; numbers and lists are text until saved. */
type Draft = {
  requireMfa: boolean;
  ssoRequired: boolean;
  guestAccessEnabled: boolean;
  ipAllowlistEnabled: boolean;
  autoJoinOnSignIn: boolean;
  defaultRole: Role;
  sessionTimeoutHours: string;
  invitationTtlHours: string;
  apiKeyMaxAgeDays: string;
  allowedEmailDomains: string;
  autoJoinDomains: string;
};

function draftOf(policy: PolicyFieldsFragment): Draft {
  return {
    requireMfa: policy.requireMfa,
    ssoRequired: policy.ssoRequired,
    guestAccessEnabled: policy.guestAccessEnabled,
    ipAllowlistEnabled: policy.ipAllowlistEnabled,
    autoJoinOnSignIn: policy.autoJoinOnSignIn,
    defaultRole: policy.defaultRole,
    sessionTimeoutHours: policy.sessionTimeoutHours?.toString() ?? '',
    invitationTtlHours: policy.invitationTtlHours.toString(),
    apiKeyMaxAgeDays: policy.apiKeyMaxAgeDays?.toString() ?? '',
    allowedEmailDomains: policy.allowedEmailDomains.join(', '),
    autoJoinDomains: policy.autoJoinDomains.join(', '),
  };
}

/** "a.com, b.com" or one a line → ["a.com", "b.com"]. */
function domainList(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((domain) => domain.trim().toLowerCase())
    .filter((domain) => domain !== '');
}

/** An optional whole number: null when empty. */
function optionalNumber(text: string): number | null {
  return text.trim() === '' ? null : Number(text);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** The changes from `policy` to `draft`: only fields that differ are sent. */
function changesOf(organizationId: string, policy: Policy, draft: Draft): UpdatePolicyInput {
  const input: UpdatePolicyInput = { organizationId };
  const flags = ['requireMfa', 'ssoRequired', 'guestAccessEnabled', 'ipAllowlistEnabled', 'autoJoinOnSignIn'] as const;
  for (const flag of flags) {
    if (draft[flag] !== policy[flag]) input[flag] = draft[flag];
  }
  if (draft.defaultRole !== policy.defaultRole) input.defaultRole = draft.defaultRole;
  const sessionTimeoutHours = optionalNumber(draft.sessionTimeoutHours);
  if (sessionTimeoutHours !== policy.sessionTimeoutHours) input.sessionTimeoutHours = sessionTimeoutHours;
  const invitationTtlHours = optionalNumber(draft.invitationTtlHours);
  if (invitationTtlHours !== null && invitationTtlHours !== policy.invitationTtlHours) {
    input.invitationTtlHours = invitationTtlHours;
  }
  const apiKeyMaxAgeDays = optionalNumber(draft.apiKeyMaxAgeDays);
  if (apiKeyMaxAgeDays !== policy.apiKeyMaxAgeDays) input.apiKeyMaxAgeDays = apiKeyMaxAgeDays;
  const allowedEmailDomains = domainList(draft.allowedEmailDomains);
  if (!sameList(allowedEmailDomains, policy.allowedEmailDomains)) input.allowedEmailDomains = allowedEmailDomains;
  const autoJoinDomains = domainList(draft.autoJoinDomains);
  if (!sameList(autoJoinDomains, policy.autoJoinDomains)) input.autoJoinDomains = autoJoinDomains;
  return input;
}

function PolicyForm({
  organizationId,
  policy,
  canManage,
  onSaved,
}: {
  organizationId: string;
  policy: Policy;
  canManage: boolean;
  onSaved: () => void;
}) {
  const [draft, setDraft] = useState(() => draftOf(policy));
  const [result, updatePolicy] = useMutation(PolicyUpdate);
  const [status, setStatus] = useState<string | null>(null);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    setStatus(null);
    setDraft((current) => ({ ...current, [key]: value }));
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const input = changesOf(organizationId, policy, draft);
    if (Object.keys(input).length === 1) {
      setStatus('Nothing changed.');
      return;
    }
    void updatePolicy({ input }).then((outcome) => {
      if (outcome.data) {
        // The server's version: domains as it normalized them.
        setDraft(draftOf(outcome.data.updatePolicy.policy));
        setStatus('Policy saved.');
        onSaved();
      }
    });
  };

  return (
    <form className="policy-form" onSubmit={onSubmit}>
      {canManage ? null : <p className="hint">Only admins and owners change the policy.</p>}
      <fieldset disabled={!canManage}>
        <legend>Sign-in</legend>
        <Checkbox
          label="Require two-factor authentication"
          hint="Sessions that signed in with a password alone are refused. Turning it on needs your own session to have used a code."
          checked={draft.requireMfa}
          onChange={(checked) => set('requireMfa', checked)}
        />
        <Checkbox
          label="Require single sign-on"
          hint="Members (not owners) must sign in through the organization's identity provider. Needs an active connection."
          checked={draft.ssoRequired}
          onChange={(checked) => set('ssoRequired', checked)}
        />
        <Field
          label="Session timeout (hours)"
          hint="Sessions older than this are refused here; empty for no limit (1 to 2,160)."
          type="number"
          min={1}
          max={2160}
          inputMode="numeric"
          value={draft.sessionTimeoutHours}
          onChange={(event) => set('sessionTimeoutHours', event.target.value)}
        />
      </fieldset>
      <fieldset disabled={!canManage}>
        <legend>Who may join</legend>
        <Field
          label="Allowed email domains"
          hint="Invitations and joins only for these domains, separated by commas; empty admits every domain."
          autoComplete="off"
          spellCheck={false}
          value={draft.allowedEmailDomains}
          onChange={(event) => set('allowedEmailDomains', event.target.value)}
        />
        <Checkbox
          label="Allow guests"
          hint="Guests may be invited and join by guest links. Turning it off ends every guest's access at once."
          checked={draft.guestAccessEnabled}
          onChange={(checked) => set('guestAccessEnabled', checked)}
        />
        <Field
          label="Invitation lifetime (hours)"
          hint="How long new invitations stay valid (1 to 168)."
          type="number"
          min={1}
          max={168}
          required
          inputMode="numeric"
          value={draft.invitationTtlHours}
          onChange={(event) => set('invitationTtlHours', event.target.value)}
        />
        <Field
          label="Auto-join domains"
          hint="Verified domains (see Domains) whose people may join by their address, separated by commas."
          autoComplete="off"
          spellCheck={false}
          value={draft.autoJoinDomains}
          onChange={(event) => set('autoJoinDomains', event.target.value)}
        />
        <SelectField
          label="Role for people who join by domain"
          options={[
            ['VIEWER', 'Viewer'],
            ['MEMBER', 'Member'],
          ]}
          value={draft.defaultRole}
          onChange={(event) => set('defaultRole', event.target.value as Role)}
        />
        <Checkbox
          label="Add people at auto-join domains when they sign in"
          checked={draft.autoJoinOnSignIn}
          onChange={(checked) => set('autoJoinOnSignIn', checked)}
        />
      </fieldset>
      <fieldset disabled={!canManage}>
        <legend>Access</legend>
        <Checkbox
          label="Enforce the IP allowlist"
          hint="Requests touching the organization must come from an address on the list below. Add your own address first."
          checked={draft.ipAllowlistEnabled}
          onChange={(checked) => set('ipAllowlistEnabled', checked)}
        />
        <Field
          label="Longest API token lifetime (days)"
          hint="For new API tokens, 1 to 365; empty for the server's cap (365)."
          type="number"
          min={1}
          max={365}
          inputMode="numeric"
          value={draft.apiKeyMaxAgeDays}
          onChange={(event) => set('apiKeyMaxAgeDays', event.target.value)}
        />
      </fieldset>
      <ErrorNote error={result.error} />
      {errorCode(result.error) === 'MFA_REQUIRED' ? (
        <p className="hint">
          To require it, first turn on two-factor authentication for yourself under <Link to="/account">Account</Link>,
          then sign out and sign in again with a code.
        </p>
      ) : null}
      {status && !result.error ? <Notice>{status}</Notice> : null}
      {canManage ? (
        <button type="submit" className="button button-primary" disabled={result.fetching}>
          Save
        </button>
      ) : null}
      <p className="hint">
        {policy.updatedAt ? (
          <>
            Last changed <When at={policy.updatedAt} />
            {policy.updatedBy ? ` by ${policy.updatedBy.name}` : ''}.
          </>
        ) : (
          'The defaults: never changed.'
        )}
      </p>
    </form>
  );
}

function Checkbox({
  label,
  hint,
  checked,
  onChange,
}: {
  label: string;
  hint?: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  const hintId = useId();
  return (
    <div className="policy-checkbox">
      <label>
        <input
          type="checkbox"
          checked={checked}
          aria-describedby={hint ? hintId : undefined}
          onChange={(event) => onChange(event.target.checked)}
        />
        {label}
      </label>
      {hint ? (
        <small id={hintId} className="hint">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

/** This request's address as the allowlist sees it (`viewer.ipAddress`). */
function useYourAddress(): string | null {
  const [{ data }] = useQuery({ query: PolicyYourAddress });
  return data?.viewer?.ipAddress ?? null;
}

/** A single-address network: /128 for IPv6, /32 for IPv4. */
function singleAddressCidr(address: string): string {
  return address.includes(':') ? `${address}/128` : `${address}/32`;
}

function IpAllowlist({ organizationId }: { organizationId: string }) {
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: PolicyIpAllowlist,
    variables: { organizationId },
  });
  const refresh = () => reexecute({ requestPolicy: 'network-only' });
  const [removeResult, removeEntry] = useMutation(PolicyRemoveIp);
  const entries = data?.organization?.ipAllowlist;
  return (
    <div className="policy-ip-allowlist">
      <ErrorNote error={error} />
      {entries === undefined ? (
        fetching ? (
          <Loading rows={2} label="Loading the IP allowlist" />
        ) : null
      ) : entries.length === 0 ? (
        <Empty>No networks on the allowlist.</Empty>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="IP allowlist">
          <table>
            <thead>
              <tr>
                <th scope="col">CIDR</th>
                <th scope="col">Description</th>
                <th scope="col">Added</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id}>
                  <th scope="row">
                    <code>{entry.cidr}</code>
                  </th>
                  <td>{entry.description ?? '—'}</td>
                  <td>
                    <When at={entry.createdAt} />
                  </td>
                  <td>
                    <button
                      type="button"
                      className="button button-danger"
                      aria-label={`Remove ${entry.cidr}`}
                      disabled={removeResult.fetching}
                      onClick={() => {
                        void removeEntry({ input: { entryId: entry.id } }).then((outcome) => {
                          if (outcome.data) refresh();
                        });
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorNote error={removeResult.error} />
      <AddIpEntryForm organizationId={organizationId} onAdded={refresh} />
    </div>
  );
}

function AddIpEntryForm({ organizationId, onAdded }: { organizationId: string; onAdded: () => void }) {
  const yourAddress = useYourAddress();
  const [cidr, setCidr] = useState('');
  const [description, setDescription] = useState('');
  const [result, addEntry] = useMutation(PolicyAddIp);
  return (
    <>
      <h3>Add a network</h3>
      <p className="hint">A network such as 203.0.113.0/24 or 2001:db8::/32; a bare address means just that address.</p>
      <p className="policy-your-address">
        {yourAddress ? (
          <>
            Your address: <code>{yourAddress}</code>{' '}
            <button
              type="button"
              className="button"
              onClick={() => {
                setCidr(singleAddressCidr(yourAddress));
                if (description.trim() === '') setDescription('My address');
              }}
            >
              Add your address
            </button>
          </>
        ) : (
          'Your address is not known.'
        )}
      </p>
      <form
        className="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const input = { organizationId, cidr: cidr.trim(), description: description.trim() || null };
          void addEntry({ input }).then((outcome) => {
            if (outcome.data) {
              setCidr('');
              setDescription('');
              onAdded();
            }
          });
        }}
      >
        <Field
          label="CIDR"
          name="cidr"
          required
          autoComplete="off"
          spellCheck={false}
          value={cidr}
          onChange={(event) => setCidr(event.target.value)}
        />
        <Field
          label="Description"
          name="description"
          autoComplete="off"
          value={description}
          onChange={(event) => setDescription(event.target.value)}
        />
        <button type="submit" className="button button-primary" disabled={result.fetching}>
          Add to allowlist
        </button>
      </form>
      <ErrorNote error={result.error} />
    </>
  );
}
