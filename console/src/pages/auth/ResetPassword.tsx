// Choose a new password with the mailed reset link (`?token=`). A reset ends
// every session of the account, this tab's included if it was signed in, so
// the page forgets its session and sends the person to sign in again.
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useMutation, type CombinedError } from 'urql';
import { errorCode } from '../../errors';
import { graphql } from '../../gql';
import { setSession } from '../../session';
import { ErrorNote, Field, Notice } from '../../ui/kit';

const ResetPasswordMutation = graphql(`
  mutation ResetPassword($input: ResetPasswordInput!) {
    resetPassword(input: $input) {
      passwordReset
    }
  }
`);

export function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get('token')?.trim() ?? '';
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const [result, resetPassword] = useMutation(ResetPasswordMutation);

  if (!token) {
    return (
      <div className="auth-card">
        <h1 id="page-title" tabIndex={-1}>
          Reset your password
        </h1>
        <p>
          This page needs the link from the reset email, and the address it was opened with has no token. Open the
          link from the email again (copy all of it if it was split over two lines), or ask for a new one.
        </p>
        <p>
          <Link to="/forgot-password">Ask for a new reset link</Link>
        </p>
      </div>
    );
  }

  if (done) {
    return (
      <div className="auth-card">
        <h1 id="page-title" tabIndex={-1}>
          Password changed
        </h1>
        <Notice>Your new password is set, and you are signed out everywhere.</Notice>
        <p>
          <Link to="/sign-in">Sign in with your new password</Link>
        </p>
      </div>
    );
  }

  // The token is refused (used, expired or unknown): the form cannot help.
  const badLink = errorCode(result.error) === 'BAD_USER_INPUT' && errorField(result.error) === 'token';

  return (
    <div className="auth-card">
      <h1 id="page-title" tabIndex={-1}>
        Choose a new password
      </h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void resetPassword({ input: { token, newPassword: password } }).then((outcome) => {
            if (outcome.data?.resetPassword.passwordReset) {
              setSession(null);
              setDone(true);
            }
          });
        }}
      >
        <Field
          label="New password"
          name="newPassword"
          type="password"
          autoComplete="new-password"
          autoFocus
          minLength={8}
          maxLength={256}
          required
          hint="At least 8 characters, and not easy to guess. Setting it signs you out everywhere."
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <ErrorNote error={result.error} />
        {badLink ? (
          <p>
            Reset links work once, for one hour. <Link to="/forgot-password">Ask for a new link</Link>.
          </p>
        ) : null}
        <button type="submit" className="button button-primary" disabled={result.fetching}>
          Set new password
        </button>
      </form>
    </div>
  );
}

/** The argument a BAD_USER_INPUT names (`extensions.field`). */
function errorField(error: CombinedError | undefined): string | undefined {
  const field = error?.graphQLErrors[0]?.extensions?.field;
  return typeof field === 'string' ? field : undefined;
}
