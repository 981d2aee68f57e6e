// TODO(helper): replace this placeholder page.
import { Page } from '../ui/kit';

export function Sso() {
  return <Page title="Sso">Coming.</Page>;
}
