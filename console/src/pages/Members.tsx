// TODO(helper): replace this placeholder page.
import { Page } from '../ui/kit';

export function Members() {
  return <Page title="Members">Coming.</Page>;
}
