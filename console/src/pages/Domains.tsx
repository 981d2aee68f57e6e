// The domains the organization claims. A claim is proved by a DNS TXT
// record: each unverified domain shows the record to publish (with copy
// buttons) and a "Verify" button that asks the server to look it up; the
// server's explanation shows when the record is not found yet. Admins add
// and remove domains; other roles see the list only (the records are
// policies:manage, so they are not even asked for).
import { useEffect, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import type { DomainsPageQuery } from '../gql/graphql';
import { hasRole, useOrganization } from '../organization';
import { ConfirmButton, Empty, ErrorNote, Field, Loading, Notice, Page, When } from '../ui/kit';
import './Domains.css';

const DomainsPage = graphql(`
  query DomainsPage($organizationId: ID!, $withChallenge: Boolean!) {
    organization(id: $organizationId) {
      id
      domains {
        domain
        verified
        verifiedAt
        createdAt
        challenge @include(if: $withChallenge) {
          recordType
          recordName
          recordValue
        }
      }
    }
  }
`);

const DomainsAdd = graphql(`
  mutation DomainsAdd($input: DomainInput!) {
    addDomain(input: $input) {
      domain {
        domain
        verified
      }
    }
  }
`);

const DomainsVerify = graphql(`
  mutation DomainsVerify($input: DomainInput!) {
    verifyDomain(input: $input) {
      domain {
        domain
        verified
        verifiedAt
      }
    }
  }
`);

const DomainsRemove = graphql(`
  mutation DomainsRemove($input: DomainInput!) {
    removeDomain(input: $input) {
      removedDomain
    }
  }
`);

type Domain = NonNullable<DomainsPageQuery['organization']>['domains'][number];

export function Domains() {
  const organization = useOrganization();
  const canManage = hasRole(organization, 'ADMIN');
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: DomainsPage,
    variables: { organizationId: organization.id, withChallenge: canManage },
  });
  const refresh = () => reexecute({ requestPolicy: 'network-only' });
  const domains = data?.organization?.domains;

  return (
    <Page title="Domains">
      <p className="hint">
        A verified domain lets people with an address there find and join the organization (see Policy).
      </p>
      {canManage ? <AddDomainForm organizationId={organization.id} onAdded={refresh} /> : null}
      <h2>Claimed domains</h2>
      <ErrorNote error={error} />
      {domains === undefined ? (
        fetching ? (
          <Loading rows={2} label="Loading domains" />
        ) : null
      ) : domains.length === 0 ? (
        <Empty>No domains yet.</Empty>
      ) : (
        <ul className="domains-list">
          {domains.map((domain) => (
            <DomainItem
              key={domain.domain}
              organizationId={organization.id}
              domain={domain}
              canManage={canManage}
              onChanged={refresh}
            />
          ))}
        </ul>
      )}
    </Page>
  );
}

function AddDomainForm({ organizationId, onAdded }: { organizationId: string; onAdded: () => void }) {
  const [domain, setDomain] = useState('');
  const [result, addDomain] = useMutation(DomainsAdd);
  const [added, setAdded] = useState<string | null>(null);
  return (
    <>
      <h2>Add a domain</h2>
      <p className="hint">A domain such as example.com; the organization proves it controls it with a DNS record.</p>
      <form
        className="inline"
        onSubmit={(event) => {
          event.preventDefault();
          setAdded(null);
          void addDomain({ input: { organizationId, domain: domain.trim() } }).then((outcome) => {
            const claimed = outcome.data?.addDomain.domain.domain;
            if (claimed) {
              setAdded(claimed);
              setDomain('');
              onAdded();
            }
          });
        }}
      >
        <Field
          label="Domain"
          name="domain"
          required
          autoComplete="off"
          spellCheck={false}
          value={domain}
          onChange={(event) => setDomain(event.target.value)}
        />
        <button type="submit" className="button button-primary" disabled={result.fetching}>
          Add domain
        </button>
      </form>
      <ErrorNote error={result.error} />
      {added ? <Notice>{added} added. Publish its TXT record below, then verify it.</Notice> : null}
    </>
  );
}

function DomainItem({
  organizationId,
  domain,
  canManage,
  onChanged,
}: {
  organizationId: string;
  domain: Domain;
  canManage: boolean;
  onChanged: () => void;
}) {
  const [verifyResult, verify] = useMutation(DomainsVerify);
  const [removeResult, remove] = useMutation(DomainsRemove);
  const input = { organizationId, domain: domain.domain };
  return (
    <li className="domains-item">
      <div className="domains-item-head">
        <h3>{domain.domain}</h3>
        {domain.verified ? (
          <span className="badge domains-verified">Verified</span>
        ) : (
          <span className="badge">Not verified</span>
        )}
      </div>
      <p className="hint">
        Added <When at={domain.createdAt} />
        {domain.verifiedAt ? (
          <>
            , verified <When at={domain.verifiedAt} />
          </>
        ) : null}
      </p>
      {!domain.verified && domain.challenge ? (
        <DnsRecord domain={domain.domain} challenge={domain.challenge} />
      ) : null}
      {canManage ? (
        <div className="domains-item-actions">
          {domain.verified ? null : (
            <button
              type="button"
              className="button button-primary"
              aria-label={`Verify ${domain.domain}`}
              disabled={verifyResult.fetching}
              onClick={() => {
                void verify({ input }).then((outcome) => {
                  if (outcome.data) onChanged();
                });
              }}
            >
              {verifyResult.fetching ? 'Verifying…' : 'Verify'}
            </button>
          )}
          <ConfirmButton
            confirmLabel={`Remove ${domain.domain}`}
            disabled={removeResult.fetching}
            onConfirm={() => {
              void remove({ input }).then((outcome) => {
                if (outcome.data) onChanged();
              });
            }}
          >
            Remove<span className="visually-hidden"> {domain.domain}</span>
          </ConfirmButton>
        </div>
      ) : null}
      <ErrorNote error={verifyResult.error} />
      <ErrorNote error={removeResult.error} />
    </li>
  );
}

function DnsRecord({ domain, challenge }: { domain: string; challenge: NonNullable<Domain['challenge']> }) {
  return (
    <div className="domains-record">
      <p>
        To prove the organization controls {domain}, create this {challenge.recordType} record in its DNS, then
        press Verify. DNS changes can take a while to show.
      </p>
      <dl>
        <div>
          <dt>Type</dt>
          <dd>
            <code>{challenge.recordType}</code>
          </dd>
        </div>
        <div>
          <dt>Name</dt>
          <dd>
            <code>{challenge.recordName}</code>
            <CopyButton value={challenge.recordName} label={`Copy record name for ${domain}`} />
          </dd>
        </div>
        <div>
          <dt>Value</dt>
          <dd>
            <code>{challenge.recordValue}</code>
            <CopyButton value={challenge.recordValue} label={`Copy record value for ${domain}`} />
          </dd>
        </div>
      </dl>
    </div>
  );
}

/** Copies `value` to the clipboard; says "Copied" for a moment after. */
function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className="button"
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(value).then(() => setCopied(true));
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}
