// The frame around every signed-in page: the organization switcher, the
// account links and sign-out in the header; the organization's sections in
// the navigation; the page in <main>. Moves focus to the page's heading
// after each navigation, so keyboard and screen-reader users start there.
import { useEffect, useReducer } from 'react';
import { NavLink, Outlet, useLocation, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../gql';
import { OrganizationContext } from '../organization';
import { setSession } from '../session';
import { ErrorNote, Loading } from './kit';

const ViewerShell = graphql(`
  query ViewerShell {
    viewer {
      user {
        id
        name
        email
        emailVerified
      }
      memberships {
        id
        organization {
          id
          name
        }
      }
    }
  }
`);

const OrganizationShell = graphql(`
  query OrganizationShell($id: ID!) {
    organization(id: $id) {
      id
      name
      slug
      tier
      status
      viewerMembership {
        id
        role
      }
    }
  }
`);

/**
 * Events about the viewer in every organization (memberships added,
 * changed, ended): the switcher and the role the pages act on are read
 * again when one arrives, so a role changed elsewhere shows at once.
 */
const ViewerShellEvents = graphql(`
  subscription ViewerShellEvents {
    viewerEvents {
      id
      type
      organizationId
    }
  }
`);

const LogOut = graphql(`
  mutation LogOut {
    logOut {
      sessionId
    }
  }
`);

const SECTIONS: ReadonlyArray<readonly [string, string]> = [
  ['members', 'Members'],
  ['invitations', 'Invitations'],
  ['teams', 'Teams'],
  ['policy', 'Policy'],
  ['domains', 'Domains'],
  ['sso', 'Single sign-on'],
  ['api-tokens', 'API tokens'],
  ['audit-log', 'Audit log'],
];

function useFocusHeadingOnNavigation() {
  const location = useLocation();
  useEffect(() => {
    document.getElementById('page-title')?.focus({ preventScroll: true });
  }, [location.pathname]);
}

export function Layout() {
  const [{ data, error }, readViewerAgain] = useQuery({ query: ViewerShell });
  const [viewerEventsSeen, sawViewerEvent] = useReducer((count: number) => count + 1, 0);
  useSubscription({ query: ViewerShellEvents }, () => {
    sawViewerEvent();
    return null;
  });
  useEffect(() => {
    if (viewerEventsSeen > 0) readViewerAgain({ requestPolicy: 'network-only' });
  }, [viewerEventsSeen, readViewerAgain]);
  const [, logOut] = useMutation(LogOut);
  const navigate = useNavigate();
  const { organizationId } = useParams();
  useFocusHeadingOnNavigation();

  const memberships = data?.viewer?.memberships ?? [];
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand">
          orgql
        </NavLink>
        <label className="switcher">
          <span className="visually-hidden">Organization</span>
          <select
            value={organizationId ?? ''}
            onChange={(event) => {
              const next = event.target.value;
              void navigate(next === 'new' ? '/organizations/new' : `/o/${next}/members`);
            }}
          >
            {organizationId ? null : <option value="">Choose an organization</option>}
            {memberships.map((membership) => (
              <option key={membership.organization.id} value={membership.organization.id}>
                {membership.organization.name}
              </option>
            ))}
            <option value="new">+ New organization</option>
          </select>
        </label>
        <nav className="account-links" aria-label="Account">
          {/* "Account", not the person's name: the header keeps its shape while loading. */}
          <NavLink to="/account">Account</NavLink>
          <button
            type="button"
            className="button button-quiet"
            onClick={() => {
              void logOut({}).finally(() => {
                setSession(null);
                void navigate('/sign-in');
              });
            }}
          >
            Sign out
          </button>
        </nav>
      </header>
      <ErrorNote error={error} />
      {organizationId ? (
        <OrganizationFrame id={organizationId} viewerEventsSeen={viewerEventsSeen} />
      ) : (
        <PlainFrame />
      )}
    </div>
  );
}

function PlainFrame() {
  return (
    <main id="main" className="main main-plain">
      <Outlet />
    </main>
  );
}

function OrganizationFrame({ id, viewerEventsSeen }: { id: string; viewerEventsSeen: number }) {
  const [{ data, fetching, error }, readAgain] = useQuery({ query: OrganizationShell, variables: { id } });
  useEffect(() => {
    if (viewerEventsSeen > 0) readAgain({ requestPolicy: 'network-only' });
  }, [viewerEventsSeen, readAgain]);
  const organization = data?.organization;
  return (
    <div className="frame">
      <nav className="sections" aria-label="Organization">
        <ul>
          {SECTIONS.map(([path, label]) => (
            <li key={path}>
              <NavLink to={`/o/${id}/${path}`}>{label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" className="main">
        {organization ? (
          <OrganizationContext.Provider value={organization}>
            <Outlet />
          </OrganizationContext.Provider>
        ) : fetching ? (
          <Loading rows={6} />
        ) : error ? (
          <ErrorNote error={error} />
        ) : (
          <p className="empty">This organization does not exist, or you are not a member.</p>
        )}
      </main>
    </div>
  );
}
