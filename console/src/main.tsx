// The console's entry: the routes under /console, the GraphQL client (made
// anew on sign-in and sign-out, so no cached answer outlives its session),
// and the guard that sends a signed-out person to sign in.
import { StrictMode, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { Navigate, Outlet, RouterProvider, createBrowserRouter, useLocation } from 'react-router';
import { Provider } from 'urql';
import { createClient } from './client';
import { AcceptInvitation } from './pages/AcceptInvitation';
import { ApiTokens } from './pages/ApiTokens';
import { AuditLog } from './pages/AuditLog';
import { CreateOrganization } from './pages/CreateOrganization';
import { Domains } from './pages/Domains';
import { Home } from './pages/Home';
import { Invitations } from './pages/Invitations';
import { Members } from './pages/Members';
import { Policy } from './pages/Policy';
import { Sso, SsoTestReturn } from './pages/Sso';
import { Teams } from './pages/Teams';
import { Account } from './pages/account/Account';
import { Sessions } from './pages/account/Sessions';
import { ForgotPassword } from './pages/auth/ForgotPassword';
import { ResetPassword } from './pages/auth/ResetPassword';
import { SignIn } from './pages/auth/SignIn';
import { SignUp } from './pages/auth/SignUp';
import { VerifyEmail } from './pages/auth/VerifyEmail';
import { useSignedIn } from './session';
import { Layout } from './ui/Layout';
import './styles.css';

/** The pages a signed-out person can open: sign-in, sign-up and mailed links. */
function PublicFrame() {
  return (
    <main id="main" className="public">
      <p className="brand brand-public">orgql</p>
      <Outlet />
    </main>
  );
}

function RequireSignIn() {
  const signedIn = useSignedIn();
  const location = useLocation();
  if (!signedIn) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate replace to={`/sign-in${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`} />;
  }
  return <Layout />;
}

function NotFound() {
  return (
    <main id="main" className="public">
      <div className="auth-card">
        <h1 id="page-title">Not found</h1>
        <p>
          <a href="/console/">Go to the console</a>
        </p>
      </div>
    </main>
  );
}

const router = createBrowserRouter(
  [
    {
      element: <PublicFrame />,
      children: [
        { path: 'sign-in', element: <SignIn /> },
        { path: 'sign-up', element: <SignUp /> },
        { path: 'forgot-password', element: <ForgotPassword /> },
        { path: 'reset-password', element: <ResetPassword /> },
        { path: 'verify-email', element: <VerifyEmail /> },
        { path: 'invitations/accept', element: <AcceptInvitation /> },
        // Where a connection's test sign-in returns (a tab of its own,
        // without the console's session): its outcome.
        { path: 'sso-test', element: <SsoTestReturn /> },
      ],
    },
    {
      element: <RequireSignIn />,
      children: [
        { index: true, element: <Home /> },
        { path: 'organizations/new', element: <CreateOrganization /> },
        { path: 'account', element: <Account /> },
        { path: 'account/sessions', element: <Sessions /> },
        {
          path: 'o/:organizationId',
          children: [
            { index: true, element: <Navigate replace to="members" /> },
            { path: 'members', element: <Members /> },
            { path: 'invitations', element: <Invitations /> },
            { path: 'teams', element: <Teams /> },
            { path: 'policy', element: <Policy /> },
            { path: 'domains', element: <Domains /> },
            { path: 'sso', element: <Sso /> },
            { path: 'api-tokens', element: <ApiTokens /> },
            { path: 'audit-log', element: <AuditLog /> },
          ],
        },
      ],
    },
    { path: '*', element: <NotFound /> },
  ],
  { basename: '/console' },
);

function App() {
  const signedIn = useSignedIn();
  // eslint-disable-next-line react-hooks/exhaustive-deps -- a new client (and cache) per session
  const client = useMemo(() => createClient(), [signedIn]);
  return (
    <Provider value={client}>
      <RouterProvider router={router} />
    </Provider>
  );
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
