// The organization's API tokens: credentials for machines that hold just
// the scopes they were given. Lists them (newest first), creates one (its
// secret is shown once, right here, and never again) and revokes one.
// Needs tokens:manage (owners and admins).
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorCode } from '../errors';
import { graphql } from '../gql';
import type { ApiTokensPageQuery, Permission } from '../gql/graphql';
import { hasRole, useOrganization } from '../organization';
import { ConfirmButton, Empty, ErrorNote, Field, Loading, Page, SecretOnce, SelectField, When } from '../ui/kit';
import './ApiTokens.css';

const ApiTokensPage = graphql(`
  query ApiTokensPage($id: ID!) {
    organization(id: $id) {
      id
      apiTokens {
        id
        name
        scopes
        lastFour
        createdAt
        createdBy {
          id
          name
        }
        lastUsedAt
        expiresAt
        revokedAt
        active
      }
    }
  }
`);

const ApiTokensCreate = graphql(`
  mutation ApiTokensCreate($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      token
      apiToken {
        id
        name
      }
    }
  }
`);

const ApiTokensRevoke = graphql(`
  mutation ApiTokensRevoke($input: RevokeApiTokenInput!) {
    revokeApiToken(input: $input) {
      apiToken {
        id
        active
        revokedAt
      }
    }
  }
`);

type ApiToken = NonNullable<ApiTokensPageQuery['organization']>['apiTokens'][number];

/**
 * The scopes a token may hold, as the server documents them (`area:verb`).
 * `org:delete` and `ownership:transfer` are left out: no token may hold them.
 */
const SCOPES: ReadonlyArray<readonly [Permission, string, string]> = [
  ['ORG_VIEW', 'org:view', 'See the organization'],
  ['ORG_MANAGE', 'org:manage', "Change the organization's settings"],
  ['MEMBERS_VIEW', 'members:view', 'See the members'],
  ['MEMBERS_MANAGE', 'members:manage', 'Invite, change roles, remove'],
  ['TEAMS_VIEW', 'teams:view', 'See the teams'],
  ['TEAMS_CREATE', 'teams:create', 'Start a team'],
  ['TEAMS_MANAGE', 'teams:manage', 'Change any team'],
  ['POLICIES_MANAGE', 'policies:manage', 'Policy, IP allowlist and domains'],
  ['SSO_MANAGE', 'sso:manage', 'Single sign-on connections'],
  ['DIRECTORY_MANAGE', 'directory:manage', 'SCIM directories'],
  ['WEBHOOKS_MANAGE', 'webhooks:manage', 'Webhook endpoints'],
  ['AUDIT_VIEW', 'audit:view', 'Read the audit log'],
  ['BILLING_VIEW', 'billing:view', 'See usage and the plan'],
  ['BILLING_MANAGE', 'billing:manage', 'Request plan upgrades'],
  ['TOKENS_MANAGE', 'tokens:manage', 'Create and revoke API tokens'],
];

const SCOPE_NAMES = new Map<string, string>(SCOPES.map(([value, name]) => [value, name]));

const EXPIRY_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['', 'Longest allowed (policy, ≤ 365 days)'],
  ['7', '7 days'],
  ['30', '30 days'],
  ['90', '90 days'],
  ['180', '180 days'],
  ['365', '365 days'],
];

/** The document cache cannot tell that an empty list would change: name the type. */
const TOKENS_CONTEXT = { additionalTypenames: ['ApiToken'] };

export function ApiTokens() {
  const organization = useOrganization();
  const canManage = hasRole(organization, 'ADMIN');
  const [{ data, fetching, error }] = useQuery({
    query: ApiTokensPage,
    variables: { id: organization.id },
    context: TOKENS_CONTEXT,
  });
  const tokens = data?.organization?.apiTokens;

  return (
    <Page title="API tokens">
      <p className="hint">
        Tokens let scripts and services call the API for this organization. A token holds only the scopes given
        to it, and never more than its creator holds.
      </p>
      {canManage ? <CreateTokenForm organizationId={organization.id} /> : null}
      <h2>Tokens</h2>
      <ErrorNote error={error} />
      {errorCode(error) === 'FORBIDDEN' ? (
        <p className="hint">API tokens are managed by the organization&rsquo;s owners and admins.</p>
      ) : null}
      {tokens ? (
        tokens.length === 0 ? (
          <Empty>No API tokens yet.</Empty>
        ) : (
          <TokenTable tokens={tokens} canManage={canManage} />
        )
      ) : fetching ? (
        <Loading rows={3} label="Loading API tokens" />
      ) : null}
    </Page>
  );
}

function CreateTokenForm({ organizationId }: { organizationId: string }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ReadonlySet<Permission>>(new Set());
  const [expiresInDays, setExpiresInDays] = useState('');
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [result, create] = useMutation(ApiTokensCreate);

  function toggle(scope: Permission, on: boolean) {
    const next = new Set(scopes);
    if (on) next.add(scope);
    else next.delete(scope);
    setScopes(next);
  }

  return (
    <>
      <h2>New token</h2>
      <form
        className="form-narrow"
        onSubmit={(event) => {
          event.preventDefault();
          setCreated(null);
          const input = {
            organizationId,
            name: name.trim(),
            scopes: SCOPES.map(([value]) => value).filter((value) => scopes.has(value)),
            expiresInDays: expiresInDays ? Number(expiresInDays) : null,
          };
          void create({ input }, TOKENS_CONTEXT).then((outcome) => {
            const payload = outcome.data?.createApiToken;
            if (!payload) return;
            setCreated({ name: payload.apiToken.name, secret: payload.token });
            setName('');
            setScopes(new Set());
            setExpiresInDays('');
          });
        }}
      >
        <Field
          label="Name"
          name="name"
          hint="What the token is for, e.g. “HR sync”."
          required
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
        <fieldset className="token-scopes">
          <legend>Scopes</legend>
          {SCOPES.map(([value, scopeName, description]) => (
            <label key={value} className="token-scope">
              <input
                type="checkbox"
                name="scopes"
                value={value}
                checked={scopes.has(value)}
                onChange={(event) => toggle(value, event.target.checked)}
              />
              <span>
                <code>{scopeName}</code> <span className="hint">{description}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <SelectField
          label="Expires in"
          name="expiresInDays"
          options={EXPIRY_OPTIONS}
          value={expiresInDays}
          onChange={(event) => setExpiresInDays(event.target.value)}
        />
        <ErrorNote error={result.error} />
        <button type="submit" className="button button-primary" disabled={result.fetching || scopes.size === 0}>
          Create token
        </button>
        {scopes.size === 0 ? <p className="hint">Choose at least one scope.</p> : null}
      </form>
      {created ? <SecretOnce label="Your new API token." value={created.secret} /> : null}
    </>
  );
}

function TokenTable({ tokens, canManage }: { tokens: readonly ApiToken[]; canManage: boolean }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Token list">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scopes</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">Status</th>
            {canManage ? (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {tokens.map((token) => (
            <TokenRow key={token.id} token={token} canManage={canManage} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TokenRow({ token, canManage }: { token: ApiToken; canManage: boolean }) {
  const [result, revoke] = useMutation(ApiTokensRevoke);
  return (
    <tr>
      <th scope="row" className="token-name">
        {token.name}
        <br />
        <small className="hint">
          ends in <code>…{token.lastFour}</code>
        </small>
      </th>
      <td>
        <ul className="token-scope-list">
          {token.scopes.map((scope) => (
            <li key={scope}>
              <code>{SCOPE_NAMES.get(scope) ?? scope}</code>
            </li>
          ))}
        </ul>
      </td>
      <td>
        <When at={token.createdAt} />
        {token.createdBy ? <small className="hint"> by {token.createdBy.name}</small> : null}
      </td>
      <td>{token.lastUsedAt ? <When at={token.lastUsedAt} /> : 'Never'}</td>
      <td>{token.expiresAt ? <When at={token.expiresAt} /> : 'Never'}</td>
      <td>
        <TokenStatus token={token} />
      </td>
      {canManage ? (
        <td>
          {token.active ? (
            <ConfirmButton confirmLabel="Yes, revoke" onConfirm={() => void revoke({ input: { apiTokenId: token.id } })}>
              Revoke<span className="visually-hidden"> token {token.name}</span>
            </ConfirmButton>
          ) : null}
          <ErrorNote error={result.error} />
        </td>
      ) : null}
    </tr>
  );
}

function TokenStatus({ token }: { token: ApiToken }) {
  if (token.revokedAt) {
    return (
      <span className="badge">
        Revoked <When at={token.revokedAt} />
      </span>
    );
  }
  if (!token.active) return <span className="badge">Expired</span>;
  return <span className="badge token-active">Active</span>;
}
