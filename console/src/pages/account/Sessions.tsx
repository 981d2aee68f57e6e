// Where the person is signed in: one row per live session, newest first,
// each of which they can end; or all of them at once. Ending this tab's own
// session signs this tab out, so it forgets its tokens and goes to sign-in.
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import { setSession } from '../../session';
import { ConfirmButton, Empty, ErrorNote, Loading, Notice, Page, When } from '../../ui/kit';

const ViewerSessions = graphql(`
  query ViewerSessions {
    viewer {
      sessions {
        id
        createdAt
        lastUsedAt
        ipAddress
        userAgent
        amr
        current
      }
    }
  }
`);

const RevokeSession = graphql(`
  mutation RevokeSession($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      sessionId
    }
  }
`);

const LogOutEverywhere = graphql(`
  mutation LogOutEverywhere {
    logOutEverywhere {
      revokedSessions
    }
  }
`);

export function Sessions() {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: ViewerSessions });
  const [revokeResult, revoke] = useMutation(RevokeSession);
  const [everywhereResult, logOutEverywhere] = useMutation(LogOutEverywhere);
  const [revokedCount, setRevokedCount] = useState(0);
  const navigate = useNavigate();

  const signOut = () => {
    setSession(null);
    void navigate('/sign-in');
  };

  const sessions = data?.viewer?.sessions;
  return (
    <Page
      title="Sessions"
      actions={
        <ConfirmButton
          confirmLabel="Yes, sign out everywhere"
          disabled={everywhereResult.fetching}
          onConfirm={() => {
            void logOutEverywhere({}).then((outcome) => {
              if (outcome.data) signOut();
            });
          }}
        >
          Sign out everywhere
        </ConfirmButton>
      }
    >
      <p>
        Each time you sign in, on any device or browser, a session starts. End the ones you do not recognise or no
        longer use: they are signed out at once. <Link to="/account">Back to your account</Link>
      </p>
      <ErrorNote error={everywhereResult.error} />
      <ErrorNote error={revokeResult.error} />
      {revokedCount > 0 ? (
        <Notice>{revokedCount === 1 ? 'The session is signed out.' : `${revokedCount} sessions are signed out.`}</Notice>
      ) : null}
      {sessions ? (
        sessions.length === 0 ? (
          <Empty>No live sessions.</Empty>
        ) : (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Sessions table">
            <table>
              <caption className="visually-hidden">Your sessions, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">IP address</th>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {sessions.map((session) => (
                  <tr key={session.id}>
                    <td>
                      {describeDevice(session.userAgent)}{' '}
                      {session.current ? <span className="badge">This session</span> : null}
                      <br />
                      <small className="hint">
                        {signInMethod(session.amr)}
                        {session.userAgent ? ` · ${session.userAgent}` : ''}
                      </small>
                    </td>
                    <td>{session.ipAddress ?? '—'}</td>
                    <td>
                      <When at={session.createdAt} />
                    </td>
                    <td>
                      <When at={session.lastUsedAt} />
                    </td>
                    <td>
                      <ConfirmButton
                        confirmLabel="Confirm"
                        disabled={revokeResult.fetching}
                        onConfirm={() => {
                          void revoke({ input: { sessionId: session.id } }).then((outcome) => {
                            if (!outcome.data) return;
                            if (session.current) {
                              signOut();
                              return;
                            }
                            setRevokedCount((count) => count + 1);
                            reexecute({ requestPolicy: 'network-only' });
                          });
                        }}
                      >
                        Revoke
                        <span className="visually-hidden">
                          {` session from ${session.userAgent ?? 'an unknown device'}`}
                        </span>
                      </ConfirmButton>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : error ? (
        <ErrorNote error={error} />
      ) : fetching ? (
        <Loading rows={3} />
      ) : null}
    </Page>
  );
}

/** How a session began, from its `amr` (RFC 8176). */
function signInMethod(amr: readonly string[]): string {
  if (amr.includes('otp')) return 'Password and code';
  if (amr.includes('pwd')) return 'Password';
  if (amr.includes('email')) return 'Email link';
  if (amr.length > 0) return 'Single sign-on';
  return 'Signed in';
}

/** "Firefox on Windows" from a User-Agent; the raw string is shown beside it. */
function describeDevice(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown device';
  const browser = matchFirst(userAgent, [
    [/\bEdg(e|A|iOS)?\//, 'Edge'],
    [/\bOPR\//, 'Opera'],
    [/\b(Firefox|FxiOS)\//, 'Firefox'],
    [/\bHeadlessChrome\//, 'Headless Chrome'],
    [/\b(Chrome|CriOS|Chromium)\//, 'Chrome'],
    [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
    [/^curl\//, 'curl'],
  ]);
  const system = matchFirst(userAgent, [
    [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
    [/\bAndroid\b/, 'Android'],
    [/\bWindows\b/, 'Windows'],
    [/\b(Macintosh|Mac OS X)\b/, 'macOS'],
    [/\bCrOS\b/, 'ChromeOS'],
    [/\bLinux\b/, 'Linux'],
  ]);
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  if (system) return `A browser on ${system}`;
  // An API client ("node", "python-requests/2.32"): its own name.
  return userAgent.split(/[\s/]/)[0] || 'Unknown device';
}

function matchFirst(text: string, patterns: ReadonlyArray<readonly [RegExp, string]>): string | undefined {
  return patterns.find(([pattern]) => pattern.test(text))?.[1];
}
