// The server's refusals in plain words, chosen by the error's code
// (`extensions.code`, the schema's ErrorCode), never by its message text.
import type { CombinedError } from 'urql';

const PLAIN_WORDS: Record<string, string> = {
  UNAUTHENTICATED: 'You are signed out, or that was not right. Sign in again and retry.',
  FORBIDDEN: 'Your role does not allow this.',
  NOT_FOUND: 'It no longer exists, or you cannot see it.',
  CONFLICT: 'That clashes with something that already exists.',
  ALREADY_MEMBER: 'This person is already a member.',
  LAST_OWNER: 'An organization must keep at least one owner. Make someone else an owner first.',
  TIER_LIMIT_EXCEEDED: "Your plan's limit is reached. Upgrade the plan or remove something first.",
  INVITATION_EXPIRED: 'This invitation has expired. Ask for a new one.',
  INVITATION_INVALID: 'This invitation is no longer valid, or it was sent to another address.',
  JOIN_CODE_INVALID: 'This join code is unknown, revoked, expired or used up.',
  IP_NOT_ALLOWED: "The organization's IP allowlist does not include your address.",
  MFA_REQUIRED:
    'The organization requires two-factor authentication. Turn it on under Account, then sign in again with a code.',
  SSO_REQUIRED: 'The organization requires single sign-on. Sign in through your identity provider.',
  RATE_LIMITED: 'Too many attempts. Wait a moment and try again.',
  QUERY_TOO_COMPLEX: 'The request was too large.',
  UNAVAILABLE: 'The server is briefly unavailable. Try again in a few seconds.',
  INTERNAL: 'Something went wrong on the server.',
};

/** The first error's code, if the server gave one. */
export function errorCode(error: CombinedError | undefined): string | undefined {
  const code = error?.graphQLErrors[0]?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * What to tell a person about `error`: the page's own `words` for its code,
 * else the plain words for it; for
 * malformed input, the server's own message (it names the field and the
 * rule); for a network failure, that the server could not be reached.
 */
export function describeError(error: CombinedError, words: Partial<Record<string, string>> = {}): string {
  if (error.networkError && error.graphQLErrors.length === 0) {
    return 'The server could not be reached. Check your connection and try again.';
  }
  const first = error.graphQLErrors[0];
  const code = errorCode(error);
  const own = code === undefined ? undefined : words[code];
  if (own) return own;
  // These messages name the field, the rule or the clash ("you may not
  // assign a role above your own"): more use than a generic sentence.
  if (code === undefined || SPECIFIC_MESSAGES.has(code)) {
    return sentence(first?.message) ?? PLAIN_WORDS[code ?? ''] ?? 'The request was refused.';
  }
  if (code === 'TIER_LIMIT_EXCEEDED') {
    const { resource, limit } = first?.extensions ?? {};
    if (typeof resource === 'string' && limit === 0) {
      return `Your plan does not include ${plainResource(resource)}. Upgrade the plan to use them.`;
    }
    if (typeof resource === 'string' && typeof limit === 'number') {
      return `Your plan allows ${limit} ${plainResource(resource)}. Upgrade the plan or remove one first.`;
    }
  }
  if (code === 'RATE_LIMITED') {
    const retryAfter = first?.extensions?.retryAfter;
    if (typeof retryAfter === 'number') return `Too many attempts. Try again in ${retryAfter} seconds.`;
  }
  return PLAIN_WORDS[code] ?? first?.message ?? 'The request was refused.';
}

const SPECIFIC_MESSAGES = new Set(['BAD_USER_INPUT', 'FORBIDDEN', 'CONFLICT']);

function sentence(message: string | undefined): string | undefined {
  if (!message) return undefined;
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** `ssoConnections` → "SSO connections", `apiTokens` → "API tokens". */
function plainResource(resource: string): string {
  return resource
    .replace(/([A-Z])/g, ' $1')
    .toLowerCase()
    .replace(/\b(sso|api|ip|scim)\b/g, (word) => word.toUpperCase());
}
