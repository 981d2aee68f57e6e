// The page an invitation email links to (`/invitations/accept?token=…`),
// open to signed-out people: it shows what is on offer (organization,
// role, inviter, expiry). A signed-out invitee is sent to sign in or to
// create an account and brought back here; a signed-in one accepts (and
// lands on the organization's members) or declines.
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import type { AcceptInvitationPreviewQuery, InvitationStatus, Role } from '../gql/graphql';
import { useSignedIn } from '../session';
import { ConfirmButton, ErrorNote, Loading, Notice, When } from '../ui/kit';
import './AcceptInvitation.css';

const AcceptInvitationPreview = graphql(`
  query AcceptInvitationPreview($token: String!) {
    invitationPreview(token: $token) {
      organizationName
      inviterName
      role
      expiresAt
      status
    }
  }
`);

const AcceptInvitationViewer = graphql(`
  query AcceptInvitationViewer {
    viewer {
      user {
        id
        email
      }
    }
  }
`);

const AcceptInvitationAccept = graphql(`
  mutation AcceptInvitationAccept($input: InvitationResponseInput!) {
    acceptInvitation(input: $input) {
      organization {
        id
      }
      member {
        id
      }
    }
  }
`);

const AcceptInvitationDecline = graphql(`
  mutation AcceptInvitationDecline($input: InvitationResponseInput!) {
    declineInvitation(input: $input) {
      invitation {
        id
        status
      }
    }
  }
`);

type Preview = NonNullable<AcceptInvitationPreviewQuery['invitationPreview']>;

const ROLE_NAMES: Record<Role, string> = {
  OWNER: 'Owner',
  ADMIN: 'Admin',
  MEMBER: 'Member',
  VIEWER: 'Viewer',
  BILLING: 'Billing',
};

/** Why an invitation that is no longer pending cannot be accepted. */
const CLOSED_STATUS_WORDS: Record<Exclude<InvitationStatus, 'PENDING'>, string> = {
  ACCEPTED: 'This invitation was already accepted.',
  DECLINED: 'This invitation was declined.',
  REVOKED: 'This invitation was withdrawn by the organization.',
  EXPIRED: 'This invitation has expired. Ask for a new one.',
};

const REQUEST_CONTEXT = { requestPolicy: 'network-only' as const };

export function AcceptInvitation() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  return (
    <div className="auth-card">
      <h1 id="page-title" tabIndex={-1}>
        Invitation
      </h1>
      {token ? (
        <InvitationOffer token={token} />
      ) : (
        <p className="note note-error" role="alert">
          This link has no invitation in it. Open the link from the invitation email again.
        </p>
      )}
    </div>
  );
}

function InvitationOffer({ token }: { token: string }) {
  const [{ data, fetching, error }] = useQuery({
    query: AcceptInvitationPreview,
    variables: { token },
    context: REQUEST_CONTEXT,
  });
  if (!data) return fetching ? <Loading rows={3} label="Loading the invitation" /> : <ErrorNote error={error} />;
  const preview = data.invitationPreview;
  if (!preview) {
    return (
      <p className="note note-error" role="alert">
        This invitation is unknown: it may have been sent again with a new link. Ask for a new one.
      </p>
    );
  }
  return (
    <>
      <InvitationSummary preview={preview} />
      {preview.status === 'PENDING' ? (
        <InvitationAnswer token={token} />
      ) : (
        <p className="note note-error" role="alert">
          {CLOSED_STATUS_WORDS[preview.status]}
        </p>
      )}
    </>
  );
}

function InvitationSummary({ preview }: { preview: Preview }) {
  return (
    <>
      <p>
        {preview.inviterName ? <strong>{preview.inviterName}</strong> : 'Someone'} invited you to join{' '}
        <strong>{preview.organizationName}</strong>.
      </p>
      <dl className="accept-invitation-facts">
        <dt>Role</dt>
        <dd>{ROLE_NAMES[preview.role]}</dd>
        <dt>Expires</dt>
        <dd>
          <When at={preview.expiresAt} />
        </dd>
      </dl>
    </>
  );
}

/** Sign in first, or accept or decline. */
function InvitationAnswer({ token }: { token: string }) {
  const signedIn = useSignedIn();
  const location = useLocation();
  if (!signedIn) {
    const next = encodeURIComponent(`${location.pathname}${location.search}`);
    return (
      <>
        <p>To accept, sign in with the address this invitation was sent to.</p>
        <p className="hint">
          New here? Create an account with that address and confirm it from the email we send you; then open this
          invitation link again and sign in.
        </p>
        <p className="accept-invitation-actions">
          <Link className="button button-primary" to={`/sign-in?next=${next}`}>
            Sign in to accept
          </Link>
          <Link className="button" to={`/sign-up?next=${next}`}>
            Create an account
          </Link>
        </p>
      </>
    );
  }
  return <AnswerButtons token={token} />;
}

function AnswerButtons({ token }: { token: string }) {
  const [viewer] = useQuery({ query: AcceptInvitationViewer });
  const [acceptResult, accept] = useMutation(AcceptInvitationAccept);
  const [declineResult, decline] = useMutation(AcceptInvitationDecline);
  const navigate = useNavigate();
  const email = viewer.data?.viewer?.user.email;

  if (declineResult.data) {
    return <Notice>You declined the invitation. You can close this page.</Notice>;
  }
  return (
    <>
      {email ? (
        <p className="hint">
          You are signed in as <strong>{email}</strong>. Only the address the invitation was sent to can accept it.
        </p>
      ) : null}
      <ErrorNote error={acceptResult.error ?? declineResult.error} />
      <p className="accept-invitation-actions">
        <button
          type="button"
          className="button button-primary"
          disabled={acceptResult.fetching || declineResult.fetching}
          onClick={() => {
            void accept({ input: { token } }).then((outcome) => {
              const organization = outcome.data?.acceptInvitation.organization;
              if (organization) void navigate(`/o/${organization.id}/members`);
            });
          }}
        >
          Accept invitation
        </button>
        <ConfirmButton
          confirmLabel="Decline invitation"
          disabled={acceptResult.fetching || declineResult.fetching}
          onConfirm={() => void decline({ input: { token } })}
        >
          Decline
        </ConfirmButton>
      </p>
    </>
  );
}
