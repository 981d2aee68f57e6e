// Following an organization's events: catch up on what came before with
// the events page (over HTTP, like every query), then subscribe from its
// last cursor over WebSocket (graphql-transport-ws, with the graphql-ws
// library), so no event falls between the two.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  OrganizationEventsDocument,
  OrganizationEventsPageDocument,
  type EventRowFragment,
  type OrganizationEventsPageQuery,
} from './generated/graphql.js';
import type { EventType } from './generated/schema.js';
import { OrgqlRequestError, createClient, type OrgqlError } from './client.js';

/** Where subscriptions run: the HTTP endpoint's host and path, as ws: or wss:. */
export function webSocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/**
 * A subscription's results, typed by its generated document as `request`'s
 * are. A stream that ends with an error (UNAUTHENTICATED, NOT_FOUND,
 * FORBIDDEN, …) throws it as an OrgqlRequestError; leaving the loop
 * unsubscribes.
 */
export async function* subscribe<TResult, TVariables extends Record<string, unknown>>(
  client: WsClient,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): AsyncGenerator<TResult, void, undefined> {
  for await (const result of client.iterate<TResult>({ query: print(document), variables })) {
    if (result.errors !== undefined && result.errors.length > 0) {
      throw new OrgqlRequestError(result.errors as ReadonlyArray<OrgqlError>);
    }
    if (result.data !== undefined && result.data !== null) {
      yield result.data;
    }
  }
}

function show(event: EventRowFragment): void {
  const actor = event.actor.email ?? event.actor.id ?? event.actor.kind;
  console.log(`${event.occurredAt} ${event.type} by ${actor}: ${JSON.stringify(event.data)}`);
}

/**
 * Prints the membership events of `organizationId` at `url` (e.g.
 * http://127.0.0.1:8000/graphql): those from before, then each one as it
 * is committed, until the stream ends.
 */
export async function followEvents(url: string, token: string, organizationId: string): Promise<void> {
  const types: EventType[] = ['MEMBER_ADDED', 'MEMBER_ROLE_CHANGED', 'MEMBER_REMOVED'];

  // Catch up, keeping the cursor of the last event seen. The events page
  // needs audit:view; without it, follow from now on.
  const request = createClient({ url, token });
  let after: string | null = null;
  try {
    for (;;) {
      // (Annotated: `after` changes in this loop, which tsc cannot infer through.)
      const page: OrganizationEventsPageQuery = await request(OrganizationEventsPageDocument, {
        organizationId,
        types,
        after,
      });
      if (page.organization === null) {
        console.log(`no organization ${organizationId}`);
        return;
      }
      const { pageInfo, edges } = page.organization.events;
      edges.forEach(({ node }) => show(node));
      after = pageInfo.endCursor ?? after;
      if (!pageInfo.hasNextPage) {
        break;
      }
    }
  } catch (error) {
    if (!(error instanceof OrgqlRequestError && error.code === 'FORBIDDEN')) {
      throw error;
    }
    console.log('reading past events needs audit:view: following from now on');
  }

  const client = createWsClient({
    url: webSocketUrl(url),
    // Node 20 has no stable global WebSocket; in browsers and Node 22+
    // this line can go.
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
  });
  // After a dropped connection graphql-ws subscribes again with the same
  // variables, so from `after` again: an event's id is the same in every
  // delivery, so drop the ones already shown.
  const shown = new Set<string>();
  try {
    const events = subscribe(client, OrganizationEventsDocument, { organizationId, types, after });
    for await (const { organizationEvents: event } of events) {
      if (!shown.has(event.id)) {
        shown.add(event.id);
        show(event);
      }
    }
  } finally {
    await client.dispose();
  }
}
