// Create an organization; its creator is its owner.
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../gql';
import { ErrorNote, Field, Page } from '../ui/kit';

const CreateOrganizationMutation = graphql(`
  mutation CreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      organization {
        id
        name
      }
    }
  }
`);

export function CreateOrganization() {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [result, create] = useMutation(CreateOrganizationMutation);
  const navigate = useNavigate();
  return (
    <Page title="New organization">
      <form
        className="form-narrow"
        onSubmit={(event) => {
          event.preventDefault();
          void create({ input: { name, slug: slug.trim() || null } }).then((outcome) => {
            const organization = outcome.data?.createOrganization.organization;
            if (organization) void navigate(`/o/${organization.id}/members`);
          });
        }}
      >
        <Field label="Name" name="name" required value={name} onChange={(e) => setName(e.target.value)} />
        <Field
          label="Slug"
          name="slug"
          hint="Lowercase letters, digits and dashes; made from the name when left empty."
          value={slug}
          onChange={(e) => setSlug(e.target.value)}
        />
        <ErrorNote error={result.error} />
        <button type="submit" className="button button-primary" disabled={result.fetching}>
          Create organization
        </button>
      </form>
    </Page>
  );
}
