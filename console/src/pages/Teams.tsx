// TODO(helper): replace this placeholder page.
import { Page } from '../ui/kit';

export function Teams() {
  return <Page title="Teams">Coming.</Page>;
}
