// The mailed verification link (`?token=`): proves the address as the page
// opens, signed in or not. A token works once, so it is sent once, even
// when React's StrictMode runs the effect twice in development.
import { useEffect, useRef } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { errorCode } from '../../errors';
import { graphql } from '../../gql';
import { rememberedNextPath, useSignedIn } from '../../session';
import { ErrorNote, Loading } from '../../ui/kit';

const VerifyEmailMutation = graphql(`
  mutation VerifyEmail($input: VerifyEmailInput!) {
    verifyEmail(input: $input) {
      user {
        id
        email
        emailVerified
      }
    }
  }
`);

export function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get('token')?.trim() ?? '';
  const [result, verifyEmail] = useMutation(VerifyEmailMutation);
  const sent = useRef(false);
  const signedIn = useSignedIn();

  useEffect(() => {
    if (!token || sent.current) return;
    sent.current = true;
    void verifyEmail({ input: { token } });
  }, [token, verifyEmail]);

  if (!token) {
    return (
      <div className="auth-card">
        <h1 id="page-title" tabIndex={-1}>
          Verify your email
        </h1>
        <p>
          This page needs the link from the verification email, and the address it was opened with has no token. Open
          the link from the email again, copying all of it if it was split over two lines.
        </p>
        <NewLinkAdvice signedIn={signedIn} />
      </div>
    );
  }

  const user = result.data?.verifyEmail.user;
  if (user) {
    return (
      <div className="auth-card">
        <h1 id="page-title" tabIndex={-1}>
          Your email is verified
        </h1>
        <p role="status">
          {user.email ? <>Thank you: {user.email} is confirmed.</> : <>Thank you: the address is confirmed.</>}{' '}
          {signedIn ? null : 'You can sign in with it now.'}
        </p>
        <p>
          <Link to={rememberedNextPath()} className="button button-primary">
            Continue
          </Link>
        </p>
      </div>
    );
  }

  if (result.error) {
    return (
      <div className="auth-card">
        <h1 id="page-title" tabIndex={-1}>
          This link did not work
        </h1>
        <ErrorNote error={result.error} />
        {errorCode(result.error) === 'BAD_USER_INPUT' ? (
          <>
            <p>A verification link works once, until it expires, and only the newest one mailed works.</p>
            <NewLinkAdvice signedIn={signedIn} />
          </>
        ) : (
          <p>
            <Link to="/">Go to the console</Link>
          </p>
        )}
      </div>
    );
  }

  return (
    <div className="auth-card">
      <h1 id="page-title" tabIndex={-1}>
        Verifying your email
      </h1>
      <Loading rows={1} label="Verifying your email" />
    </div>
  );
}

/**
 * Where a new link comes from: the Account page when signed in. Signed
 * out, an unverified account cannot sign in, but a password reset link
 * proves the address too.
 */
function NewLinkAdvice({ signedIn }: { signedIn: boolean }) {
  if (signedIn) {
    return (
      <p>
        Ask for a new link on your <Link to="/account">Account</Link> page.
      </p>
    );
  }
  return (
    <p>
      For a new link, <Link to="/forgot-password">reset your password</Link>: the reset link proves your address too.
    </p>
  );
}
