// Ask for a password reset link. The server answers the same whether or not
// an account has the address, and so does this page: it never tells who has
// an account.
import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { ErrorNote, Field, Notice } from '../../ui/kit';

const RequestPasswordReset = graphql(`
  mutation RequestPasswordReset($input: RequestPasswordResetInput!) {
    requestPasswordReset(input: $input) {
      accepted
    }
  }
`);

export function ForgotPassword() {
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [result, requestReset] = useMutation(RequestPasswordReset);

  return (
    <div className="auth-card">
      <h1 id="page-title" tabIndex={-1}>
        Reset your password
      </h1>
      {sentTo !== null ? (
        <>
          <Notice>
            If an account exists for {sentTo}, we mailed it a link to choose a new password. The link works once, for
            one hour.
          </Notice>
          <p>
            No email after a few minutes? Check the spam folder and the spelling of the address, or{' '}
            <button type="button" className="button-link" onClick={() => setSentTo(null)}>
              try another address
            </button>
            .
          </p>
        </>
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            const address = email.trim();
            void requestReset({ input: { email: address } }).then((outcome) => {
              if (outcome.data) setSentTo(address);
            });
          }}
        >
          <p>Enter the email you sign in with. We will mail you a link to choose a new password.</p>
          <Field
            label="Email"
            name="email"
            type="email"
            autoComplete="username"
            autoFocus
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
          <ErrorNote error={result.error} />
          <button type="submit" className="button button-primary" disabled={result.fetching}>
            Send reset link
          </button>
        </form>
      )}
      <p>
        Remembered it? <Link to="/sign-in">Sign in</Link>
      </p>
    </div>
  );
}
