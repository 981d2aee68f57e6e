// TODO(helper): replace this placeholder page.
import { Page } from '../../ui/kit';

export function Sessions() {
  return <Page title="Sessions">Coming.</Page>;
}
