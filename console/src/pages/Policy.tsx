// TODO(helper): replace this placeholder page.
import { Page } from '../ui/kit';

export function Policy() {
  return <Page title="Policy">Coming.</Page>;
}
