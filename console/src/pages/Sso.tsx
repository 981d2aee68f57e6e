// Single sign-on: the organization's connections to its identity provider
// (OIDC or SAML). Creates one (DRAFT), shows what to register at the IdP,
// runs a test sign-in (a one-time link opened in a new tab; the result
// shows here when the console tab gets focus back), activates,
// deactivates and deletes. Needs sso:manage (owners and admins) and the
// ENTERPRISE plan.
import { useCallback, useEffect, useId, useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { errorCode } from '../errors';
import { graphql } from '../gql';
import type { Role, SsoPageQuery, SsoProtocol, SsoStatus } from '../gql/graphql';
import { hasRole, useOrganization } from '../organization';
import { ConfirmButton, Empty, ErrorNote, Field, Loading, Notice, Page, SelectField, When } from '../ui/kit';
import './Sso.css';

const SsoPage = graphql(`
  query SsoPage($id: ID!) {
    organization(id: $id) {
      id
      ssoConnections {
        id
        protocol
        status
        issuerUrl
        clientId
        idpEntityId
        idpSsoUrl
        spEntityId
        acsUrl
        jitProvisioning
        defaultRole
        redirectUri
        testedAt
        createdAt
      }
    }
  }
`);

/** Who signed in during each connection's latest successful test (audit:view). */
const SsoTestSignIns = graphql(`
  query SsoTestSignIns($id: ID!) {
    organization(id: $id) {
      id
      auditLog(first: 50, filter: { actions: [SSO_CONNECTION_TESTED] }) {
        nodes {
          id
          resourceId
          metadata
          createdAt
        }
      }
    }
  }
`);

const SsoCreate = graphql(`
  mutation SsoCreate($input: CreateSsoConnectionInput!) {
    createSsoConnection(input: $input) {
      connection {
        id
        status
      }
    }
  }
`);

const SsoTest = graphql(`
  mutation SsoTest($input: TestSsoConnectionInput!) {
    testSsoConnection(input: $input) {
      authorizationUrl
    }
  }
`);

const SsoActivate = graphql(`
  mutation SsoActivate($input: SsoConnectionInput!) {
    activateSsoConnection(input: $input) {
      connection {
        id
        status
      }
    }
  }
`);

const SsoDeactivate = graphql(`
  mutation SsoDeactivate($input: SsoConnectionInput!) {
    deactivateSsoConnection(input: $input) {
      connection {
        id
        status
      }
    }
  }
`);

const SsoDelete = graphql(`
  mutation SsoDelete($input: SsoConnectionInput!) {
    deleteSsoConnection(input: $input) {
      deletedConnectionId
    }
  }
`);

type SsoConnection = NonNullable<SsoPageQuery['organization']>['ssoConnections'][number];

/** The document cache cannot tell that an empty list would change: name the type. */
const CONNECTIONS_CONTEXT = { additionalTypenames: ['SsoConnection'] };

/**
 * Where the test sign-in sends the browser back (`?sso_test=passed` or
 * `?error=…`). The server accepts only addresses on its allowlist
 * (`ORGQL_SSO_REDIRECT_URIS`, exact match), so this is one fixed address
 * per console, not the organization's page.
 */
function ssoTestReturnUrl(): string {
  return new URL('/console/sso-test', window.location.origin).href;
}

const PROTOCOL_OPTIONS: ReadonlyArray<readonly [SsoProtocol, string]> = [
  ['OIDC', 'OpenID Connect (OIDC)'],
  ['SAML', 'SAML 2.0'],
];

const ROLE_OPTIONS: ReadonlyArray<readonly [Role, string]> = [
  ['MEMBER', 'Member'],
  ['VIEWER', 'Viewer'],
];

const STATUS_WORDS: Record<SsoStatus, readonly [string, string]> = {
  DRAFT: ['Draft', 'not used for sign-in yet'],
  ACTIVE: ['Active', 'the organization signs in through it'],
  INACTIVE: ['Inactive', 'taken out of use'],
};

/** Re-runs `refetch` whenever the window gets focus back (after the test sign-in tab). */
function useRefetchOnFocus(refetch: () => void) {
  useEffect(() => {
    const onFocus = () => refetch();
    const onVisible = () => {
      if (document.visibilityState === 'visible') refetch();
    };
    window.addEventListener('focus', onFocus);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.removeEventListener('focus', onFocus);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [refetch]);
}

/**
 * Calls `refetch` every few seconds while `active`: the test sign-in's
 * result shows even when the browser does not report the tab's focus.
 */
function usePollWhile(active: boolean, refetch: () => void) {
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(refetch, POLL_MS);
    return () => window.clearInterval(timer);
  }, [active, refetch]);
}

const POLL_MS = 3000;

export function Sso() {
  const organization = useOrganization();
  const canManage = hasRole(organization, 'ADMIN');
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: SsoPage,
    variables: { id: organization.id },
    context: CONNECTIONS_CONTEXT,
  });
  const [testSignIns, reexecuteTests] = useQuery({ query: SsoTestSignIns, variables: { id: organization.id } });
  const refetch = useCallback(() => {
    reexecute({ requestPolicy: 'network-only' });
    reexecuteTests({ requestPolicy: 'network-only' });
  }, [reexecute, reexecuteTests]);
  useRefetchOnFocus(refetch);
  const connections = data?.organization?.ssoConnections;
  // Absent (FORBIDDEN) without audit:view, though the schema calls it non-null.
  const testers = latestTesters(testSignIns.data?.organization?.auditLog?.nodes ?? []);
  const callbackUrl = connections?.find((connection) => connection.redirectUri)?.redirectUri;

  return (
    <Page title="Single sign-on">
      <p className="hint">
        Let people sign in through your identity provider. A new connection starts as a draft: test it with a
        sign-in, then activate it.
      </p>
      {organization.tier !== 'ENTERPRISE' ? (
        <p className="note">
          Single sign-on is part of the Enterprise plan; this organization is on the {plainWord(organization.tier)}{' '}
          plan. The server refuses these changes until the plan is Enterprise.
        </p>
      ) : null}
      {callbackUrl ? (
        <div className="sso-callback">
          <h2>Redirect URI</h2>
          <p>
            Register this redirect URI at your identity provider for orgql&rsquo;s client: <code>{callbackUrl}</code>
          </p>
        </div>
      ) : null}

      <h2>Connections</h2>
      <ErrorNote error={error} />
      <RefusalHint error={error} />
      {connections ? (
        connections.length === 0 ? (
          <Empty>No single sign-on connections yet.</Empty>
        ) : (
          <ul className="sso-connections">
            {connections.map((connection) => (
              <li key={connection.id}>
                <ConnectionCard
                  connection={connection}
                  tester={testers.get(connection.id)}
                  canManage={canManage}
                  refetch={refetch}
                />
              </li>
            ))}
          </ul>
        )
      ) : fetching ? (
        <Loading rows={3} label="Loading connections" />
      ) : null}

      {canManage ? <CreateConnectionForm organizationId={organization.id} /> : null}
    </Page>
  );
}

/** Connection id → the email the IdP asserted in its latest successful test. */
function latestTesters(entries: ReadonlyArray<{ resourceId?: string | null; metadata: unknown }>): Map<string, string> {
  const testers = new Map<string, string>();
  // Newest first: keep the first seen for each connection.
  for (const entry of entries) {
    const email = (entry.metadata as { email?: unknown } | null)?.email;
    if (entry.resourceId && typeof email === 'string' && !testers.has(entry.resourceId)) {
      testers.set(entry.resourceId, email);
    }
  }
  return testers;
}

/** The next step after a refusal the plain words cannot say on their own. */
function RefusalHint({ error }: { error: CombinedError | undefined }) {
  const code = errorCode(error);
  const field = error?.graphQLErrors[0]?.extensions?.field;
  if (code === 'TIER_LIMIT_EXCEEDED') {
    return (
      <p className="hint">
        Single sign-on needs the Enterprise plan. Ask a platform administrator to move this organization to
        Enterprise, or request an upgrade.
      </p>
    );
  }
  if (code === 'FORBIDDEN') {
    return <p className="hint">Single sign-on is managed by the organization&rsquo;s owners and admins.</p>;
  }
  if (code === 'BAD_USER_INPUT' && field === 'redirectUri') {
    return (
      <p className="hint">
        The server must list <code>{ssoTestReturnUrl()}</code> in <code>ORGQL_SSO_REDIRECT_URIS</code> for test
        sign-ins from this console.
      </p>
    );
  }
  return null;
}

/** What names a connection (the API gives it no name): its IdP and client. */
function connectionTitle(connection: SsoConnection): string {
  return connection.protocol === 'OIDC'
    ? `OIDC connection to ${connection.issuerUrl ?? 'an identity provider'} (client ${connection.clientId ?? '?'})`
    : `SAML connection to ${connection.idpEntityId ?? 'an identity provider'}`;
}

type Action = 'test' | 'activate' | 'deactivate' | 'delete';

function ConnectionCard({
  connection,
  tester,
  canManage,
  refetch,
}: {
  connection: SsoConnection;
  tester: string | undefined;
  canManage: boolean;
  refetch: () => void;
}) {
  const headingId = useId();
  const title = connectionTitle(connection);
  const [lastAction, setLastAction] = useState<Action | null>(null);
  // The test link, until a newer successful test shows up.
  const [testLink, setTestLink] = useState<{ url: string; testedAtBefore: string | null } | null>(null);
  const [testResult, test] = useMutation(SsoTest);
  const [activateResult, activate] = useMutation(SsoActivate);
  const [deactivateResult, deactivate] = useMutation(SsoDeactivate);
  const [deleteResult, remove] = useMutation(SsoDelete);
  const input = { connectionId: connection.id };
  const errors: Record<Action, CombinedError | undefined> = {
    test: testResult.error,
    activate: activateResult.error,
    deactivate: deactivateResult.error,
    delete: deleteResult.error,
  };
  const error = lastAction ? errors[lastAction] : undefined;
  const awaitingTest = testLink !== null && connection.testedAt === testLink.testedAtBefore;
  usePollWhile(awaitingTest, refetch);

  return (
    <article className="sso-connection" aria-labelledby={headingId}>
      <h3 id={headingId}>{title}</h3>
      <dl className="sso-facts">
        <Fact term="Status">
          <span className={`badge sso-status-${connection.status.toLowerCase()}`}>{STATUS_WORDS[connection.status][0]}</span>{' '}
          <span className="hint">{STATUS_WORDS[connection.status][1]}</span>
        </Fact>
        {connection.protocol === 'OIDC' ? <OidcFacts connection={connection} /> : <SamlFacts connection={connection} />}
        <Fact term="People new to the organization">
          {connection.jitProvisioning
            ? `Added at their first sign-in, as ${plainWord(connection.defaultRole)}`
            : 'Not added: only existing members sign in'}
        </Fact>
        <Fact term="Last test sign-in">
          {connection.testedAt ? (
            <span className="sso-tested">
              Passed <When at={connection.testedAt} />
              {tester ? ` (signed in as ${tester})` : null}
            </span>
          ) : (
            'Not tested yet: test it before activating'
          )}
        </Fact>
        <Fact term="Created">
          <When at={connection.createdAt} />
        </Fact>
      </dl>

      {canManage ? (
        <div className="sso-actions">
          <button
            type="button"
            className="button"
            disabled={testResult.fetching}
            onClick={() => {
              setLastAction('test');
              setTestLink(null);
              void test({ input: { ...input, redirectUri: ssoTestReturnUrl() } }).then((outcome) => {
                const url = outcome.data?.testSsoConnection.authorizationUrl;
                if (url) setTestLink({ url, testedAtBefore: connection.testedAt ?? null });
              });
            }}
          >
            Test<span className="visually-hidden"> {title}</span>
          </button>
          {connection.status === 'ACTIVE' ? (
            <button
              type="button"
              className="button"
              disabled={deactivateResult.fetching}
              onClick={() => {
                setLastAction('deactivate');
                void deactivate({ input });
              }}
            >
              Deactivate<span className="visually-hidden"> {title}</span>
            </button>
          ) : (
            <button
              type="button"
              className={connection.testedAt ? 'button button-primary' : 'button'}
              disabled={activateResult.fetching}
              onClick={() => {
                setLastAction('activate');
                void activate({ input });
              }}
            >
              Activate<span className="visually-hidden"> {title}</span>
            </button>
          )}
          <ConfirmButton
            confirmLabel="Yes, delete"
            disabled={deleteResult.fetching}
            onConfirm={() => {
              setLastAction('delete');
              void remove({ input }, CONNECTIONS_CONTEXT);
            }}
          >
            Delete<span className="visually-hidden"> {title}</span>
          </ConfirmButton>
        </div>
      ) : null}

      {testLink && awaitingTest ? (
        <div className="sso-test-link" role="status">
          <p>
            <a href={testLink.url} target="_blank" rel="noopener noreferrer">
              Open test sign-in
            </a>{' '}
            <span className="hint">(opens a new tab)</span>
          </p>
          <p className="hint">
            Sign in at your identity provider there, then come back to this tab: the result shows under
            &ldquo;Last test sign-in&rdquo;. The link works once, for ten minutes, in this browser.
          </p>
        </div>
      ) : null}
      {lastAction === 'activate' && !error && connection.status === 'ACTIVE' ? (
        <Notice>The organization now signs in through this connection.</Notice>
      ) : null}
      <ErrorNote error={error} />
      <RefusalHint error={error} />
    </article>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="sso-fact">
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function OidcFacts({ connection }: { connection: SsoConnection }) {
  return (
    <>
      <Fact term="Issuer URL">
        <code>{connection.issuerUrl}</code>
      </Fact>
      <Fact term="Client ID">
        <code>{connection.clientId}</code>
      </Fact>
      {connection.redirectUri ? (
        <Fact term="Redirect URI to register at the identity provider">
          <code>{connection.redirectUri}</code>
        </Fact>
      ) : null}
    </>
  );
}

function SamlFacts({ connection }: { connection: SsoConnection }) {
  return (
    <>
      <Fact term="IdP entity ID">
        <code>{connection.idpEntityId}</code>
      </Fact>
      <Fact term="IdP SSO URL">
        <code>{connection.idpSsoUrl}</code>
      </Fact>
      {connection.spEntityId ? (
        <Fact term="Service provider entity ID (serves orgql's metadata)">
          <a href={connection.spEntityId}>
            <code>{connection.spEntityId}</code>
          </a>
        </Fact>
      ) : null}
      {connection.acsUrl ? (
        <Fact term="Assertion Consumer Service URL (HTTP-POST)">
          <code>{connection.acsUrl}</code>
        </Fact>
      ) : null}
    </>
  );
}

/** What the create form holds: the fields of both protocols, sent for the chosen one only. */
interface NewConnection {
  protocol: SsoProtocol;
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificate: string;
  jitProvisioning: boolean;
  defaultRole: Role;
}

const EMPTY_CONNECTION: NewConnection = {
  protocol: 'OIDC',
  issuerUrl: '',
  clientId: '',
  clientSecret: '',
  idpEntityId: '',
  idpSsoUrl: '',
  idpCertificate: '',
  jitProvisioning: true,
  defaultRole: 'MEMBER',
};

function CreateConnectionForm({ organizationId }: { organizationId: string }) {
  const [form, setForm] = useState<NewConnection>(EMPTY_CONNECTION);
  const [created, setCreated] = useState(false);
  const [result, create] = useMutation(SsoCreate);
  const set = (change: Partial<NewConnection>) => setForm((current) => ({ ...current, ...change }));
  const oidc = form.protocol === 'OIDC';

  return (
    <>
      <h2>New connection</h2>
      <form
        className="form-narrow"
        onSubmit={(event) => {
          event.preventDefault();
          setCreated(false);
          const protocolFields = oidc
            ? { issuerUrl: form.issuerUrl.trim(), clientId: form.clientId.trim(), clientSecret: form.clientSecret }
            : {
                idpEntityId: form.idpEntityId.trim(),
                idpSsoUrl: form.idpSsoUrl.trim(),
                idpCertificate: form.idpCertificate.trim(),
              };
          const input = {
            organizationId,
            protocol: form.protocol,
            ...protocolFields,
            jitProvisioning: form.jitProvisioning,
            defaultRole: form.defaultRole,
          };
          void create({ input }, CONNECTIONS_CONTEXT).then((outcome) => {
            if (outcome.data) {
              setForm(EMPTY_CONNECTION);
              setCreated(true);
            }
          });
        }}
      >
        <SelectField
          label="Protocol"
          name="protocol"
          options={PROTOCOL_OPTIONS}
          value={form.protocol}
          onChange={(event) => set({ protocol: event.target.value as SsoProtocol })}
        />
        {oidc ? (
          <>
            <p className="hint">
              Register orgql at your identity provider as a confidential web client with the scopes{' '}
              <code>openid email profile</code>. The redirect URI to register there is shown with the connection
              once it is created.
            </p>
            <Field
              label="Issuer URL"
              name="issuerUrl"
              type="url"
              required
              placeholder="https://idp.example.com"
              hint="Its discovery document is at /.well-known/openid-configuration below it."
              value={form.issuerUrl}
              onChange={(event) => set({ issuerUrl: event.target.value })}
            />
            <Field
              label="Client ID"
              name="clientId"
              required
              autoComplete="off"
              value={form.clientId}
              onChange={(event) => set({ clientId: event.target.value })}
            />
            <Field
              label="Client secret"
              name="clientSecret"
              type="password"
              required
              autoComplete="new-password"
              hint="Stored encrypted; it is never shown again."
              value={form.clientSecret}
              onChange={(event) => set({ clientSecret: event.target.value })}
            />
          </>
        ) : (
          <>
            <Field
              label="IdP entity ID"
              name="idpEntityId"
              required
              hint="The issuer its assertions name."
              value={form.idpEntityId}
              onChange={(event) => set({ idpEntityId: event.target.value })}
            />
            <Field
              label="IdP SSO URL"
              name="idpSsoUrl"
              type="url"
              required
              hint="Where sign-in requests go (HTTP-Redirect binding)."
              value={form.idpSsoUrl}
              onChange={(event) => set({ idpSsoUrl: event.target.value })}
            />
            <TextAreaField
              label="IdP signing certificate"
              name="idpCertificate"
              required
              hint="PEM, starting with -----BEGIN CERTIFICATE-----."
              value={form.idpCertificate}
              onChange={(idpCertificate) => set({ idpCertificate })}
            />
          </>
        )}
        <CheckboxField
          label="Add people new to the organization at their first sign-in"
          checked={form.jitProvisioning}
          onChange={(jitProvisioning) => set({ jitProvisioning })}
        />
        <SelectField
          label="Role for people added at sign-in"
          name="defaultRole"
          options={ROLE_OPTIONS}
          value={form.defaultRole}
          onChange={(event) => set({ defaultRole: event.target.value as Role })}
        />
        <ErrorNote error={result.error} />
        <RefusalHint error={result.error} />
        {created ? <Notice>Connection created as a draft. Test it, then activate it.</Notice> : null}
        <button type="submit" className="button button-primary" disabled={result.fetching}>
          Create connection
        </button>
      </form>
    </>
  );
}

function TextAreaField({
  label,
  hint,
  name,
  required,
  value,
  onChange,
}: {
  label: string;
  hint: string;
  name: string;
  required?: boolean;
  value: string;
  onChange: (value: string) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        name={name}
        rows={6}
        required={required}
        spellCheck={false}
        aria-describedby={`${id}-hint`}
        value={value}
        onChange={(event) => onChange(event.target.value)}
      />
      <small id={`${id}-hint`} className="hint">
        {hint}
      </small>
    </div>
  );
}

function CheckboxField({
  label,
  checked,
  onChange,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <label className="sso-checkbox">
      <input type="checkbox" checked={checked} onChange={(event) => onChange(event.target.checked)} />
      <span>{label}</span>
    </label>
  );
}

/** `ENTERPRISE` → "Enterprise". */
function plainWord(constant: string): string {
  return constant.charAt(0) + constant.slice(1).toLowerCase();
}

/**
 * Where a test sign-in's browser tab lands (`/console/sso-test`, a public
 * page: the new tab has no console session): passed, or why not.
 */
export function SsoTestReturn() {
  const [params] = useSearchParams();
  const passed = params.get('sso_test') === 'passed';
  const error = params.get('error');
  return (
    <div className="auth-card">
      <h1 id="page-title" tabIndex={-1}>
        {passed ? 'Test sign-in passed' : 'Test sign-in failed'}
      </h1>
      {passed ? (
        <Notice>The identity provider signed you in. Close this tab and activate the connection in the console.</Notice>
      ) : (
        <p className="note note-error" role="alert">
          {TEST_ERRORS[error ?? ''] ?? `The sign-in was refused${error ? ` (${error})` : ''}.`}
        </p>
      )}
      <p>
        <a href="/console/">Go to the console</a>
      </p>
    </div>
  );
}

/** The `?error=` values a test sign-in can come back with (docs: guides/sso.md). */
const TEST_ERRORS: Record<string, string> = {
  invalid_response: 'The identity provider’s answer failed a check (signature, issuer, audience, expiry or nonce).',
  access_denied: 'The identity provider refused the sign-in.',
  email_not_verified:
    'The address is not verified: the identity provider must assert it, and its domain must be one of the organization’s verified domains.',
  account_not_linkable: 'An account with this address exists, and its domain is not verified by the organization.',
  not_provisioned: 'This person is not a member, and the connection does not add people at sign-in.',
  seat_limit: 'The organization has no free seat for a new member.',
  sso_unavailable: 'Single sign-on is not available for this organization now.',
};
