// Create an account: the server mails a verification link to the address
// and signs the person in at once.
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { keepTokens } from '../../session';
import { ErrorNote, Field } from '../../ui/kit';
import { useNextPath } from './SignIn';

const SignUpMutation = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      accessToken
      accessTokenExpiresAt
      refreshToken
    }
  }
`);

export function SignUp() {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [result, signUp] = useMutation(SignUpMutation);
  const navigate = useNavigate();
  const next = useNextPath();

  return (
    <div className="auth-card">
      <h1 id="page-title" tabIndex={-1}>
        Create your account
      </h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void signUp({ input: { name, email, password } }).then((outcome) => {
            if (outcome.data && keepTokens(outcome.data.signUp)) void navigate(next);
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
        Have an account? <Link to={`/sign-in${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`}>Sign in</Link>
      </p>
    </div>
  );
}
