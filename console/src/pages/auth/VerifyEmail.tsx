// TODO(helper): replace this placeholder page.
import { Page } from '../../ui/kit';

export function VerifyEmail() {
  return <Page title="VerifyEmail">Coming.</Page>;
}
