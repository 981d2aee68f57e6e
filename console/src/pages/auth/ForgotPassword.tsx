// TODO(helper): replace this placeholder page.
import { Page } from '../../ui/kit';

export function ForgotPassword() {
  return <Page title="ForgotPassword">Coming.</Page>;
}
