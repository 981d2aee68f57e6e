// TODO(helper): replace this placeholder page.
import { Page } from '../../ui/kit';

export function Account() {
  return <Page title="Account">Coming.</Page>;
}
