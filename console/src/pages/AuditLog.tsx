// TODO(helper): replace this placeholder page.
import { Page } from '../ui/kit';

export function AuditLog() {
  return <Page title="AuditLog">Coming.</Page>;
}
