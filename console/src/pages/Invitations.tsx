// TODO(helper): replace this placeholder page.
import { Page } from '../ui/kit';

export function Invitations() {
  return <Page title="Invitations">Coming.</Page>;
}
