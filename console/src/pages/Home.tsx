// The console's start: the first organization's members, or creating one
// when the person has none.
import { Navigate } from 'react-router';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import { ErrorNote, Loading } from '../ui/kit';

const HomeMemberships = graphql(`
  query HomeMemberships {
    viewer {
      memberships {
        id
        organization {
          id
        }
      }
    }
  }
`);

export function Home() {
  const [{ data, error, fetching }] = useQuery({ query: HomeMemberships });
  if (error) return <ErrorNote error={error} />;
  if (fetching || !data) return <Loading rows={4} />;
  const first = data.viewer?.memberships[0];
  return <Navigate replace to={first ? `/o/${first.organization.id}/members` : '/organizations/new'} />;
}
