// Sign in with email and password; when the account has two-factor
// authentication on, the server answers with a challenge instead of
// tokens, and the second step trades it and a code (or a recovery code)
// for the session.
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { forgetNextPath, keepTokens } from '../../session';
import { ErrorNote, Field } from '../../ui/kit';

const LogIn = graphql(`
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) {
      accessToken
      accessTokenExpiresAt
      refreshToken
      mfaChallenge {
        challenge
        expiresAt
      }
    }
  }
`);

const VerifyMfa = graphql(`
  mutation VerifyMfa($input: VerifyMfaInput!) {
    verifyMfa(input: $input) {
      accessToken
      accessTokenExpiresAt
      refreshToken
    }
  }
`);

/** orgql answers a wrong password and an unconfirmed address alike. */
const LOG_IN_WORDS = {
  UNAUTHENTICATED:
    'The email or password is not right, or the address is not confirmed yet: open the link we mailed when you signed up.',
};

/** Where to go after signing in: `?next=` when it is a path of the console's own. */
export function useNextPath(): string {
  const [params] = useSearchParams();
  const next = params.get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [challenge, setChallenge] = useState<string | null>(null);
  const [logInResult, logIn] = useMutation(LogIn);
  const [verifyResult, verifyMfa] = useMutation(VerifyMfa);
  const navigate = useNavigate();
  const next = useNextPath();
  const signedIn = () => {
    forgetNextPath();
    void navigate(next);
  };

  if (challenge) {
    return (
      <div className="auth-card">
        <h1 id="page-title" tabIndex={-1}>
          Two-factor authentication
        </h1>
        <p>Enter the six-digit code from your authenticator app, or one of your recovery codes.</p>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void verifyMfa({ input: { challenge, code: code.trim() } }).then((result) => {
              if (result.data && keepTokens(result.data.verifyMfa)) signedIn();
            });
          }}
        >
          <Field
            label="Code"
            name="code"
            inputMode="numeric"
            autoComplete="one-time-code"
            autoFocus
            required
            value={code}
            onChange={(event) => setCode(event.target.value)}
          />
          <ErrorNote
            error={verifyResult.error}
            words={{ UNAUTHENTICATED: 'That code is not right, or the challenge expired. Try the next code, or start again.' }}
          />
          <button type="submit" className="button button-primary" disabled={verifyResult.fetching}>
            Verify
          </button>
        </form>
        <p>
          <button type="button" className="button-link" onClick={() => setChallenge(null)}>
            Start again
          </button>
        </p>
      </div>
    );
  }

  return (
    <div className="auth-card">
      <h1 id="page-title" tabIndex={-1}>
        Sign in
      </h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void logIn({ input: { email, password } }).then((result) => {
            const payload = result.data?.logIn;
            if (!payload) return;
            if (payload.mfaChallenge) setChallenge(payload.mfaChallenge.challenge);
            else if (keepTokens(payload)) signedIn();
          });
        }}
      >
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <ErrorNote error={logInResult.error} words={LOG_IN_WORDS} />
        <button type="submit" className="button button-primary" disabled={logInResult.fetching}>
          Sign in
        </button>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link to={`/sign-up${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`}>Create an account</Link>
      </p>
    </div>
  );
}
