// TODO(helper): replace this placeholder page.
import { Page } from '../../ui/kit';

export function ResetPassword() {
  return <Page title="ResetPassword">Coming.</Page>;
}
