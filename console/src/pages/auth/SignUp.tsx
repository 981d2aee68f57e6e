// Create an account. orgql signs nobody in here: it mails a link that
// confirms the address, and the account signs in once it is confirmed. The
// answer is the same for an address that already has an account (so the
// form tells no one which addresses do).
import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { rememberNextPath } from '../../session';
import { ErrorNote, Field } from '../../ui/kit';
import { useNextPath } from './SignIn';

const SignUpMutation = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      user {
        id
      }
    }
  }
`);

export function SignUp() {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [result, signUp] = useMutation(SignUpMutation);
  const next = useNextPath();
  const signInPath = `/sign-in${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`;

  if (sentTo) {
    return (
      <div className="auth-card">
        <h1 id="page-title" tabIndex={-1}>
          Check your email
        </h1>
        <p role="status">
          We sent a link to <strong>{sentTo}</strong>. Open it to confirm your address, then sign in.
        </p>
        <p>
          <Link to={signInPath}>Sign in</Link>
        </p>
      </div>
    );
  }

  return (
    <div className="auth-card">
      <h1 id="page-title" tabIndex={-1}>
        Create your account
      </h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void signUp({ input: { name, email, password } }).then((outcome) => {
            if (!outcome.data) return;
            rememberNextPath(next);
            setSentTo(email);
          });
        }}
      >
        <Field label="Name" name="name" autoComplete="name" required value={name} onChange={(e) => setName(e.target.value)} />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={8}
          required
          hint="At least 8 characters, and not easy to guess."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorNote error={result.error} />
        <button type="submit" className="button button-primary" disabled={result.fetching}>
          Create account
        </button>
      </form>
      <p>
        Have an account? <Link to={signInPath}>Sign in</Link>
      </p>
    </div>
  );
}
