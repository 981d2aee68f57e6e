// The signed-in session: the access token, the refresh token and when the
// access token expires. It lives in the tab's sessionStorage: closing the
// tab signs out, and two tabs never race to use one refresh token (orgql
// ends a session whose old refresh token is used again).
import { useSyncExternalStore } from 'react';

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** RFC 3339. */
  accessTokenExpiresAt: string;
}

const KEY = 'orgql.console.session';
const listeners = new Set<() => void>();
let current: Session | null = read();

function read(): Session | null {
  try {
    const stored = sessionStorage.getItem(KEY);
    return stored ? (JSON.parse(stored) as Session) : null;
  } catch {
    return null;
  }
}

export function currentSession(): Session | null {
  return current;
}

export function setSession(session: Session | null): void {
  current = session;
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener();
}

/**
 * Keeps the tokens of an answer that carries them (`AuthPayload`): false
 * when it has none (an MFA challenge is pending).
 */
export function keepTokens(payload: {
  accessToken?: string | null;
  refreshToken?: string | null;
  accessTokenExpiresAt?: string | null;
}): boolean {
  if (!payload.accessToken || !payload.refreshToken || !payload.accessTokenExpiresAt) return false;
  setSession({
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    accessTokenExpiresAt: payload.accessTokenExpiresAt,
  });
  return true;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The session, re-rendering on sign-in, refresh and sign-out. */
export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, currentSession);
}

/** True while signed in; changes only on sign-in and sign-out (not on refresh). */
export function useSignedIn(): boolean {
  return useSyncExternalStore(subscribe, () => current !== null);
}

const NEXT_KEY = 'orgql.console.next';

/**
 * Remembers where a person was going when they signed up (an invitation's
 * page): signing up leads through the mailed confirmation link, which
 * carries no `?next=`, before the sign-in that goes there.
 */
export function rememberNextPath(path: string): void {
  if (path !== '/') sessionStorage.setItem(NEXT_KEY, path);
}

/** Where the remembered path leads, else the console's start. */
export function rememberedNextPath(): string {
  return sessionStorage.getItem(NEXT_KEY) ?? '/';
}

export function forgetNextPath(): void {
  sessionStorage.removeItem(NEXT_KEY);
}
