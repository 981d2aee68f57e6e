// TODO(helper): replace this placeholder page.
import { Page } from '../ui/kit';

export function ApiTokens() {
  return <Page title="ApiTokens">Coming.</Page>;
}
