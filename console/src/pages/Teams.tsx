// The organization's teams as a tree (sub-teams nested under their parent)
// and, for the team chosen in it (`?team=` in the URL), its members with
// their team role. Members and above create teams; a team's maintainers
// and those who manage every team (admins) add and remove its members,
// change their team role and delete it: the page asks the server
// (`viewerCanAdminister`) rather than guessing from the role.
//
// The tree comes from one flat list of every team with its parent's id
// (one request per hundred teams), so it is whole at any depth.
import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useClient, useMutation, useQuery, type CombinedError, type OperationResult } from 'urql';
import { graphql } from '../gql';
import type { TeamRole, TeamsSelectedQuery, TeamsTreeQuery } from '../gql/graphql';
import { hasRole, useOrganization } from '../organization';
import { ConfirmButton, Empty, ErrorNote, Field, Loading, Page, SelectField, When } from '../ui/kit';
import './Teams.css';

const TeamsTree = graphql(`
  query TeamsTree($organizationId: ID!, $after: String) {
    organization(id: $organizationId) {
      id
      teams(first: 100, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          name
          slug
          membersCount
          parent {
            id
          }
        }
      }
    }
  }
`);

const TeamsSelected = graphql(`
  query TeamsSelected($teamId: ID!) {
    node(id: $teamId) {
      __typename
      ... on Team {
        id
        name
        slug
        description
        viewerCanAdminister
        createdAt
        parent {
          id
          name
        }
        children {
          id
        }
        members(first: 100) {
          totalCount
          nodes {
            role
            addedAt
            member {
              id
              user {
                id
                name
                email
              }
            }
          }
        }
      }
    }
  }
`);

const TeamsPeople = graphql(`
  query TeamsPeople($organizationId: ID!) {
    organization(id: $organizationId) {
      id
      members(first: 100) {
        nodes {
          id
          user {
            id
            name
            email
          }
        }
      }
    }
  }
`);

const TeamsCreate = graphql(`
  mutation TeamsCreate($input: CreateTeamInput!) {
    createTeam(input: $input) {
      team {
        id
        name
      }
    }
  }
`);

const TeamsDelete = graphql(`
  mutation TeamsDelete($input: DeleteTeamInput!) {
    deleteTeam(input: $input) {
      deletedTeamId
    }
  }
`);

const TeamsAddMember = graphql(`
  mutation TeamsAddMember($input: TeamMemberInput!) {
    addTeamMember(input: $input) {
      teamMember {
        role
        member {
          id
        }
      }
    }
  }
`);

const TeamsUpdateMemberRole = graphql(`
  mutation TeamsUpdateMemberRole($input: TeamMemberInput!) {
    updateTeamMemberRole(input: $input) {
      teamMember {
        role
        member {
          id
        }
      }
    }
  }
`);

const TeamsRemoveMember = graphql(`
  mutation TeamsRemoveMember($input: RemoveTeamMemberInput!) {
    removeTeamMember(input: $input) {
      teamId
      memberId
    }
  }
`);

type TeamSummary = NonNullable<TeamsTreeQuery['organization']>['teams']['nodes'][number];
type SelectedTeam = Extract<NonNullable<TeamsSelectedQuery['node']>, { __typename?: 'Team' }>;
type TeamMembership = SelectedTeam['members']['nodes'][number];

/** A team of the tree with the teams directly inside it. */
type TreeNode = { team: TeamSummary; children: TreeNode[] };

/**
 * Every team of the organization, page after page. `refresh` reloads
 * them (the list stays on screen meanwhile).
 */
function useEveryTeam(organizationId: string) {
  const client = useClient();
  // Kept with the organization they belong to, so that another
  // organization's teams never show while this one's load.
  const [loaded, setLoaded] = useState<{ organizationId: string; teams: TeamSummary[] } | null>(null);
  const [error, setError] = useState<CombinedError | undefined>(undefined);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let cancelled = false;
    async function load() {
      const teams: TeamSummary[] = [];
      let after: string | null = null;
      for (;;) {
        const result: OperationResult<TeamsTreeQuery> = await client
          .query(TeamsTree, { organizationId, after }, { requestPolicy: 'network-only' })
          .toPromise();
        if (cancelled) return;
        const page = result.data?.organization?.teams;
        setError(result.error);
        if (!page) return;
        teams.push(...page.nodes);
        if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
        after = page.pageInfo.endCursor;
      }
      setLoaded({ organizationId, teams });
    }
    void load();
    return () => {
      cancelled = true;
    };
  }, [client, organizationId, version]);
  const teams = loaded?.organizationId === organizationId ? loaded.teams : null;
  return { teams, error, refresh: () => setVersion((v) => v + 1) };
}

/** The forest of `teams`: a team whose parent is not listed is a root. */
function buildTree(teams: readonly TeamSummary[]): TreeNode[] {
  const nodes = new Map(teams.map((team) => [team.id, { team, children: [] as TreeNode[] }]));
  const roots: TreeNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.team.parent ? nodes.get(node.team.parent.id) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

/** The tree in reading order, each team with its depth (0 at the top). */
function flatten(tree: readonly TreeNode[], depth = 0): Array<{ team: TeamSummary; depth: number }> {
  return tree.flatMap((node) => [{ team: node.team, depth }, ...flatten(node.children, depth + 1)]);
}

export function Teams() {
  const organization = useOrganization();
  const canCreate = hasRole(organization, 'MEMBER');
  const { teams, error, refresh } = useEveryTeam(organization.id);
  const [params, setParams] = useSearchParams();
  const selectedId = params.get('team');
  const focusPanel = useRef(false);
  const tree = teams ? buildTree(teams) : [];

  const select = (teamId: string | null) => {
    setParams(teamId ? { team: teamId } : {});
  };

  return (
    <Page title="Teams">
      {canCreate ? (
        <CreateTeamForm
          organizationId={organization.id}
          tree={tree}
          onCreated={(teamId) => {
            refresh();
            focusPanel.current = true;
            select(teamId);
          }}
        />
      ) : null}
      <div className="teams-layout">
        <section aria-labelledby="teams-tree-title" className="teams-tree-section">
          <h2 id="teams-tree-title">All teams</h2>
          <ErrorNote error={error} />
          {teams === null ? (
            error ? null : (
              <Loading rows={4} label="Loading teams" />
            )
          ) : teams.length === 0 ? (
            <Empty>No teams yet.</Empty>
          ) : (
            <TeamTree nodes={tree} selectedId={selectedId} onPick={() => (focusPanel.current = true)} />
          )}
        </section>
        {selectedId ? (
          <TeamPanel
            key={selectedId}
            teamId={selectedId}
            organizationId={organization.id}
            viewerMemberId={organization.viewerMembership?.id ?? null}
            focusRequestRef={focusPanel}
            onChanged={refresh}
            onDeleted={() => {
              refresh();
              select(null);
            }}
          />
        ) : null}
      </div>
    </Page>
  );
}

function TeamTree({
  nodes,
  selectedId,
  onPick,
}: {
  nodes: readonly TreeNode[];
  selectedId: string | null;
  onPick: () => void;
}) {
  return (
    <ul className="team-tree">
      {nodes.map(({ team, children }) => (
        <li key={team.id}>
          <div className="team-tree-row">
            <Link
              to={{ search: `?team=${encodeURIComponent(team.id)}` }}
              aria-current={team.id === selectedId ? 'true' : undefined}
              onClick={onPick}
            >
              {team.name}
            </Link>
            <span className="hint">
              {team.membersCount} {team.membersCount === 1 ? 'member' : 'members'}
              {children.length > 0
                ? `, ${children.length} ${children.length === 1 ? 'sub-team' : 'sub-teams'}`
                : ''}
            </span>
          </div>
          {children.length > 0 ? <TeamTree nodes={children} selectedId={selectedId} onPick={onPick} /> : null}
        </li>
      ))}
    </ul>
  );
}

function CreateTeamForm({
  organizationId,
  tree,
  onCreated,
}: {
  organizationId: string;
  tree: readonly TreeNode[];
  onCreated: (teamId: string) => void;
}) {
  const [name, setName] = useState('');
  const [parentId, setParentId] = useState('');
  const [result, createTeam] = useMutation(TeamsCreate);
  const teams = flatten(tree);
  // A parent deleted meanwhile is no longer offered: the team goes on top.
  const parent = teams.some(({ team }) => team.id === parentId) ? parentId : '';
  const options: Array<readonly [string, string]> = [
    ['', 'None (a top-level team)'],
    ...teams.map(({ team, depth }) => [team.id, `${'— '.repeat(depth)}${team.name}`] as const),
  ];
  return (
    <section aria-labelledby="teams-create-title">
      <h2 id="teams-create-title">Create a team</h2>
      <form
        className="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const input = { organizationId, name: name.trim(), parentTeamId: parent || null };
          void createTeam({ input }).then((outcome) => {
            const team = outcome.data?.createTeam.team;
            if (team) {
              setName('');
              setParentId('');
              onCreated(team.id);
            }
          });
        }}
      >
        <Field
          label="Team name"
          name="name"
          required
          maxLength={200}
          autoComplete="off"
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
        <SelectField
          label="Parent team"
          name="parent"
          options={options}
          value={parent}
          onChange={(event) => setParentId(event.target.value)}
        />
        <button type="submit" className="button button-primary" disabled={result.fetching}>
          Create team
        </button>
      </form>
      <ErrorNote error={result.error} />
    </section>
  );
}

function TeamPanel({
  teamId,
  organizationId,
  viewerMemberId,
  focusRequestRef,
  onChanged,
  onDeleted,
}: {
  teamId: string;
  organizationId: string;
  viewerMemberId: string | null;
  /** Set when a pick in the tree should move focus to the team's heading. */
  focusRequestRef: React.RefObject<boolean>;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const [{ data, fetching, error }, reexecute] = useQuery({ query: TeamsSelected, variables: { teamId } });
  const [deleteResult, deleteTeam] = useMutation(TeamsDelete);
  const heading = useRef<HTMLHeadingElement>(null);
  const team = data?.node?.__typename === 'Team' ? data.node : null;

  useEffect(() => {
    if (team && focusRequestRef.current) {
      focusRequestRef.current = false;
      heading.current?.focus();
    }
  }, [team, focusRequestRef]);

  const changed = () => {
    reexecute({ requestPolicy: 'network-only' });
    onChanged();
  };

  if (!team) {
    return (
      <section className="team-panel" aria-label="Team">
        <ErrorNote error={error} />
        {fetching ? <Loading rows={4} label="Loading the team" /> : error ? null : <Empty>This team no longer exists.</Empty>}
      </section>
    );
  }

  return (
    <section className="team-panel" aria-labelledby="team-panel-title">
      <h2 id="team-panel-title" ref={heading} tabIndex={-1}>
        {team.name}
      </h2>
      <p className="hint">
        {team.parent ? (
          <>
            Sub-team of <Link to={{ search: `?team=${encodeURIComponent(team.parent.id)}` }}>{team.parent.name}</Link>.{' '}
          </>
        ) : (
          'A top-level team. '
        )}
        Created <When at={team.createdAt} />.
      </p>
      {team.description ? <p>{team.description}</p> : null}
      {team.viewerCanAdminister ? (
        <div className="team-actions">
          <ConfirmButton
            confirmLabel={`Delete ${team.name}`}
            disabled={deleteResult.fetching}
            onConfirm={() => {
              void deleteTeam({ input: { teamId: team.id } }).then((outcome) => {
                if (outcome.data) onDeleted();
              });
            }}
          >
            Delete team
          </ConfirmButton>
          {team.children.length > 0 ? (
            <small className="hint">Delete or move its sub-teams first.</small>
          ) : null}
        </div>
      ) : null}
      <ErrorNote error={deleteResult.error} />
      <h3>Members</h3>
      <TeamMembers team={team} viewerMemberId={viewerMemberId} onChanged={changed} />
      {team.viewerCanAdminister ? (
        <AddTeamMemberForm organizationId={organizationId} team={team} onAdded={changed} />
      ) : null}
    </section>
  );
}

const TEAM_ROLE_NAMES: Record<TeamRole, string> = { MAINTAINER: 'Maintainer', MEMBER: 'Member' };

function TeamMembers({
  team,
  viewerMemberId,
  onChanged,
}: {
  team: SelectedTeam;
  viewerMemberId: string | null;
  onChanged: () => void;
}) {
  const memberships = team.members.nodes;
  if (memberships.length === 0) return <Empty>No one is in this team yet.</Empty>;
  return (
    <>
      {/* Focusable, so that a keyboard can scroll it when it is wider than the screen. */}
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Team members">
        <table>
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Email</th>
              <th scope="col">Team role</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {memberships.map((membership) => (
              <TeamMemberRow
                key={membership.member.id}
                team={team}
                membership={membership}
                isViewer={membership.member.id === viewerMemberId}
                onChanged={onChanged}
              />
            ))}
          </tbody>
        </table>
      </div>
      {team.members.totalCount > memberships.length ? (
        <p className="hint">
          The first {memberships.length} of {team.members.totalCount} members are shown.
        </p>
      ) : null}
    </>
  );
}

function TeamMemberRow({
  team,
  membership,
  isViewer,
  onChanged,
}: {
  team: SelectedTeam;
  membership: TeamMembership;
  isViewer: boolean;
  onChanged: () => void;
}) {
  const [roleResult, updateRole] = useMutation(TeamsUpdateMemberRole);
  const [removeResult, removeMember] = useMutation(TeamsRemoveMember);
  const { member, role } = membership;
  const name = member.user.name;
  const otherRole: TeamRole = role === 'MAINTAINER' ? 'MEMBER' : 'MAINTAINER';
  const ids = { teamId: team.id, memberId: member.id };
  const remove = () => {
    void removeMember({ input: ids }).then((outcome) => {
      if (outcome.data) onChanged();
    });
  };
  return (
    <tr>
      <th scope="row">
        {name}
        {isViewer ? <span className="hint"> (you)</span> : null}
      </th>
      <td>{member.user.email ?? '—'}</td>
      <td>
        {role === 'MAINTAINER' ? <span className="badge teams-maintainer">Maintainer</span> : TEAM_ROLE_NAMES[role]}
      </td>
      <td>
        <When at={membership.addedAt} />
      </td>
      <td>
        <div className="team-row-actions">
          {team.viewerCanAdminister ? (
            <>
              <button
                type="button"
                className="button"
                aria-label={`Make ${name} a team ${TEAM_ROLE_NAMES[otherRole].toLowerCase()}`}
                disabled={roleResult.fetching}
                onClick={() => {
                  void updateRole({ input: { ...ids, role: otherRole } }).then((outcome) => {
                    if (outcome.data) onChanged();
                  });
                }}
              >
                Make {TEAM_ROLE_NAMES[otherRole].toLowerCase()}
              </button>
              <ConfirmButton confirmLabel={`Remove ${name}`} disabled={removeResult.fetching} onConfirm={remove}>
                Remove<span className="visually-hidden"> {name} from {team.name}</span>
              </ConfirmButton>
            </>
          ) : isViewer ? (
            <ConfirmButton confirmLabel="Leave" disabled={removeResult.fetching} onConfirm={remove}>
              Leave team
            </ConfirmButton>
          ) : null}
        </div>
        <ErrorNote error={roleResult.error ?? removeResult.error} />
      </td>
    </tr>
  );
}

function AddTeamMemberForm({
  organizationId,
  team,
  onAdded,
}: {
  organizationId: string;
  team: SelectedTeam;
  onAdded: () => void;
}) {
  const [{ data, fetching, error }] = useQuery({ query: TeamsPeople, variables: { organizationId } });
  const [memberId, setMemberId] = useState('');
  const [role, setRole] = useState<TeamRole>('MEMBER');
  const [result, addMember] = useMutation(TeamsAddMember);
  const inTeam = new Set(team.members.nodes.map((membership) => membership.member.id));
  const candidates = (data?.organization?.members.nodes ?? []).filter((member) => !inTeam.has(member.id));

  return (
    <section aria-labelledby="team-add-title">
      <h3 id="team-add-title">Add a member</h3>
      <ErrorNote error={error} />
      {data === undefined && fetching ? (
        <Loading rows={1} label="Loading people" />
      ) : candidates.length === 0 ? (
        <Empty>Everyone in the organization is already in this team.</Empty>
      ) : (
        <form
          className="inline"
          onSubmit={(event) => {
            event.preventDefault();
            void addMember({ input: { teamId: team.id, memberId, role } }).then((outcome) => {
              if (outcome.data) {
                setMemberId('');
                setRole('MEMBER');
                onAdded();
              }
            });
          }}
        >
          <SelectField
            label="Person"
            name="person"
            required
            options={[
              ['', 'Choose a person'],
              ...candidates.map(
                (member) =>
                  [member.id, member.user.email ? `${member.user.name} (${member.user.email})` : member.user.name] as const,
              ),
            ]}
            value={memberId}
            onChange={(event) => setMemberId(event.target.value)}
          />
          <SelectField
            label="Team role"
            name="role"
            options={[
              ['MEMBER', 'Member'],
              ['MAINTAINER', 'Maintainer'],
            ]}
            value={role}
            onChange={(event) => setRole(event.target.value as TeamRole)}
          />
          <button type="submit" className="button button-primary" disabled={result.fetching}>
            Add to team
          </button>
        </form>
      )}
      <ErrorNote error={result.error} />
    </section>
  );
}
