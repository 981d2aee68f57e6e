// The signed-in person's own account: their address and whether it is
// verified, two-factor authentication (enrolling an authenticator app,
// its recovery codes, turning it off), the password, and a way to their
// sessions.
import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import { ErrorNote, Field, Loading, Notice, Page } from '../../ui/kit';

const AccountViewer = graphql(`
  query AccountViewer {
    viewer {
      user {
        id
        name
        email
        emailVerified
        mfaEnabled
      }
    }
  }
`);

const ResendVerificationEmail = graphql(`
  mutation ResendVerificationEmail {
    resendVerificationEmail {
      email
    }
  }
`);

const EnrollTotp = graphql(`
  mutation EnrollTotp {
    enrollTotp {
      secret
      otpauthUri
      qrCodeSvg
    }
  }
`);

const ConfirmTotp = graphql(`
  mutation ConfirmTotp($input: ConfirmTotpInput!) {
    confirmTotp(input: $input) {
      recoveryCodes
    }
  }
`);

const DisableTotp = graphql(`
  mutation DisableTotp($input: DisableTotpInput!) {
    disableTotp(input: $input) {
      mfaEnabled
    }
  }
`);

const ChangePassword = graphql(`
  mutation ChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) {
      sessionsEnded
    }
  }
`);

export function Account() {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: AccountViewer });
  const refresh = () => reexecute({ requestPolicy: 'network-only' });
  const user = data?.viewer?.user;

  return (
    <Page title="Account">
      {user ? (
        <>
          <Profile
            name={user.name}
            email={user.email ?? ''}
            emailVerified={user.emailVerified ?? false}
            onChanged={refresh}
          />
          <TwoFactor enabled={user.mfaEnabled ?? false} onChanged={refresh} />
          <PasswordChange />
          <section aria-labelledby="sessions-title">
            <h2 id="sessions-title">Sessions</h2>
            <p>
              See where you are signed in, and sign out of a device you no longer use or do not recognise.
            </p>
            <p>
              <Link to="/account/sessions">Manage your sessions</Link>
            </p>
          </section>
        </>
      ) : error ? (
        <ErrorNote error={error} />
      ) : fetching ? (
        <Loading rows={6} />
      ) : null}
    </Page>
  );
}

function Profile({
  name,
  email,
  emailVerified,
  onChanged,
}: {
  name: string;
  email: string;
  emailVerified: boolean;
  onChanged: () => void;
}) {
  const [result, resend] = useMutation(ResendVerificationEmail);
  const sentTo = result.data?.resendVerificationEmail.email;
  return (
    <section aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <dl>
        <dt>Name</dt>
        <dd>{name}</dd>
        <dt>Email</dt>
        <dd>
          {email}{' '}
          <span className="badge">{emailVerified ? 'Verified' : 'Not verified'}</span>
        </dd>
      </dl>
      {emailVerified ? null : (
        <>
          <p>
            Until you open the link we mailed to this address, invitations to it stay hidden and organizations that
            admit people by their email domain do not admit you.
          </p>
          {sentTo ? (
            <Notice>We mailed a new link to {sentTo}. Links mailed earlier no longer work.</Notice>
          ) : null}
          <ErrorNote error={result.error} />
          <button
            type="button"
            className="button"
            disabled={result.fetching}
            onClick={() => {
              void resend({}).then((outcome) => {
                // CONFLICT: it was verified meanwhile (in another tab).
                if (outcome.error) onChanged();
              });
            }}
          >
            Resend verification email
          </button>
        </>
      )}
    </section>
  );
}

interface Enrollment {
  secret: string;
  otpauthUri: string;
  qrCodeSvg: string;
}

function TwoFactor({ enabled, onChanged }: { enabled: boolean; onChanged: () => void }) {
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null);
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const [turnedOff, setTurnedOff] = useState(false);
  const [enrollResult, enroll] = useMutation(EnrollTotp);

  let body;
  if (recoveryCodes) {
    body = (
      <>
        <Notice>Two-factor authentication is on. From your next sign-in, we will ask for a code from your app.</Notice>
        <RecoveryCodes codes={recoveryCodes} onDone={() => setRecoveryCodes(null)} />
      </>
    );
  } else if (enrollment) {
    body = (
      <Enroll
        enrollment={enrollment}
        onCancel={() => setEnrollment(null)}
        onConfirmed={(codes) => {
          setEnrollment(null);
          setRecoveryCodes(codes);
          onChanged();
        }}
      />
    );
  } else if (enabled) {
    body = (
      <TurnOff
        onDone={() => {
          setTurnedOff(true);
          onChanged();
        }}
      />
    );
  } else {
    body = (
      <>
        {turnedOff ? <Notice>Done: your authenticator and recovery codes are deleted.</Notice> : null}
        <p>
          Two-factor authentication is off. With it on, signing in takes your password and a code from an
          authenticator app on your phone. Some organizations require it.
        </p>
        <ErrorNote error={enrollResult.error} />
        <button
          type="button"
          className="button button-primary"
          disabled={enrollResult.fetching}
          onClick={() => {
            setTurnedOff(false);
            void enroll({}).then((outcome) => {
              const started = outcome.data?.enrollTotp;
              if (started) setEnrollment(started);
              // CONFLICT: it was turned on meanwhile (in another tab).
              else if (outcome.error) onChanged();
            });
          }}
        >
          Turn on two-factor authentication
        </button>
      </>
    );
  }

  return (
    <section aria-labelledby="mfa-title">
      <h2 id="mfa-title">Two-factor authentication</h2>
      {body}
    </section>
  );
}

/** Step two of turning it on: the app learns the secret, and proves it with a first code. */
function Enroll({
  enrollment,
  onCancel,
  onConfirmed,
}: {
  enrollment: Enrollment;
  onCancel: () => void;
  onConfirmed: (recoveryCodes: string[]) => void;
}) {
  const [code, setCode] = useState('');
  const [result, confirm] = useMutation(ConfirmTotp);
  // An <img> of the server's SVG: shown as a picture, never run as markup.
  const qrCode = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrollment.qrCodeSvg)}`;
  return (
    <>
      <p>
        1. In your authenticator app (such as 1Password, Google Authenticator or Aegis), add an account by scanning
        this QR code, or by typing the secret key below.
      </p>
      <img src={qrCode} alt="QR code of the authenticator setup link" width={192} height={192} />
      <div className="secret">
        <p>
          <strong>Secret key</strong>, for typing into the app. It is shown only now.
        </p>
        <input className="secret-value" readOnly aria-label="TOTP secret" value={enrollment.secret} />
        <p>
          <strong>Setup link</strong>, for apps that import one:
        </p>
        <input className="secret-value" readOnly aria-label="otpauth URI" value={enrollment.otpauthUri} />
      </div>
      <form
        className="form-narrow"
        onSubmit={(event) => {
          event.preventDefault();
          void confirm({ input: { code: code.replace(/\s/g, '') } }).then((outcome) => {
            const codes = outcome.data?.confirmTotp.recoveryCodes;
            if (codes) onConfirmed(codes);
          });
        }}
      >
        <p>2. Enter the six-digit code the app now shows, to prove it is set up.</p>
        <Field
          label="Code from the app"
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9 ]*"
          required
          value={code}
          onChange={(event) => setCode(event.target.value)}
        />
        <ErrorNote error={result.error} />
        <div className="page-actions">
          <button type="submit" className="button button-primary" disabled={result.fetching}>
            Confirm and turn on
          </button>
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </>
  );
}

/** The ten recovery codes, shown once, right after turning it on. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="secret" role="region" aria-labelledby="recovery-title">
      <h3 id="recovery-title">Recovery codes</h3>
      <p>
        If you lose your phone, sign in with one of these codes instead of a code from the app. Each works once. They
        are shown only now: copy them somewhere safe, such as your password manager.
      </p>
      <ul aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div className="page-actions">
        <button
          type="button"
          className="button"
          onClick={() => {
            void navigator.clipboard?.writeText(codes.join('\n')).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy codes'}
        </button>
        <button type="button" className="button button-primary" onClick={onDone}>
          I have saved them
        </button>
      </div>
    </div>
  );
}

/** Turning it off takes the password or a code (the server wants exactly one). */
function TurnOff({ onDone }: { onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [withCode, setWithCode] = useState(false);
  const [secret, setSecret] = useState('');
  const [result, disable] = useMutation(DisableTotp);

  if (!open) {
    return (
      <>
        <p>
          Two-factor authentication is on: signing in takes your password and a code from your authenticator app, or
          one of your recovery codes.
        </p>
        <button type="button" className="button button-danger" onClick={() => setOpen(true)}>
          Turn off two-factor authentication
        </button>
      </>
    );
  }

  return (
    <form
      className="form-narrow"
      onSubmit={(event) => {
        event.preventDefault();
        const input = withCode ? { code: secret.trim() } : { password: secret };
        void disable({ input }).then((outcome) => {
          if (outcome.data && !outcome.data.disableTotp.mfaEnabled) onDone();
        });
      }}
    >
      <p>
        Turning it off deletes your authenticator and recovery codes: signing in will take your password alone.
        Confirm it is you.
      </p>
      {withCode ? (
        <Field
          key="code"
          label="Code from the app, or a recovery code"
          name="code"
          autoComplete="one-time-code"
          autoFocus
          required
          value={secret}
          onChange={(event) => setSecret(event.target.value)}
        />
      ) : (
        <Field
          key="password"
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          autoFocus
          required
          value={secret}
          onChange={(event) => setSecret(event.target.value)}
        />
      )}
      <p>
        <button
          type="button"
          className="button-link"
          onClick={() => {
            setWithCode(!withCode);
            setSecret('');
          }}
        >
          {withCode ? 'Use your password instead' : 'Use a code instead'}
        </button>
      </p>
      <ErrorNote error={result.error} />
      <div className="page-actions">
        <button type="submit" className="button button-danger" disabled={result.fetching}>
          Turn off
        </button>
        <button
          type="button"
          className="button"
          onClick={() => {
            setOpen(false);
            setSecret('');
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}

function PasswordChange() {
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [ended, setEnded] = useState<number | null>(null);
  const [result, change] = useMutation(ChangePassword);
  return (
    <section aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <form
        className="form-narrow"
        onSubmit={(event) => {
          event.preventDefault();
          setEnded(null);
          void change({ input: { currentPassword, newPassword } }).then((outcome) => {
            const payload = outcome.data?.changePassword;
            if (!payload) return;
            setEnded(payload.sessionsEnded);
            setCurrentPassword('');
            setNewPassword('');
          });
        }}
      >
        <Field
          label="Current password"
          name="currentPassword"
          type="password"
          autoComplete="current-password"
          required
          value={currentPassword}
          onChange={(event) => setCurrentPassword(event.target.value)}
        />
        <Field
          label="New password"
          name="newPassword"
          type="password"
          autoComplete="new-password"
          minLength={8}
          maxLength={256}
          required
          hint="At least 8 characters, and not easy to guess. Your other sessions end; this one stays."
          value={newPassword}
          onChange={(event) => setNewPassword(event.target.value)}
        />
        {ended !== null ? (
          <Notice>
            Your password is changed.{' '}
            {ended === 0
              ? 'You were signed in nowhere else.'
              : `${ended} other ${ended === 1 ? 'session was' : 'sessions were'} signed out.`}
          </Notice>
        ) : null}
        <ErrorNote error={result.error} />
        <button type="submit" className="button button-primary" disabled={result.fetching}>
          Change password
        </button>
      </form>
    </section>
  );
}
