// TODO(helper): replace this placeholder page.
import { Page } from '../ui/kit';

export function Domains() {
  return <Page title="Domains">Coming.</Page>;
}
