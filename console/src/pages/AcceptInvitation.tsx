// TODO(helper): replace this placeholder page.
import { Page } from '../ui/kit';

export function AcceptInvitation() {
  return <Page title="AcceptInvitation">Coming.</Page>;
}
