// Pages that follow their organization's events (`organizationEvents`)
// and read their list again when one arrives, with a badge that says so.
import { useEffect, useEffectEvent } from 'react';
import { useSubscription } from 'urql';
import { graphql } from '../gql';
import type { EventType } from '../gql/graphql';

const LiveOrganizationEvents = graphql(`
  subscription LiveOrganizationEvents($organizationId: ID!, $types: [EventType!]) {
    organizationEvents(organizationId: $organizationId, types: $types) {
      id
      type
    }
  }
`);

/** 'live' while following, 'stopped' once the stream ended with an error, 'off' while paused. */
export type LiveState = 'live' | 'stopped' | 'off';

/**
 * Follows the organization's events of `types` and calls `onEvent` for
 * each, and once more when the stream ends with an error (the viewer may
 * no longer see them: the list, read again, then says why).
 */
export function useOrganizationEvents(
  organizationId: string,
  types: EventType[],
  onEvent: () => void,
  pause: boolean,
): { state: LiveState; restart: () => void } {
  const [events, restart] = useSubscription({
    query: LiveOrganizationEvents,
    variables: { organizationId, types },
    pause,
  });
  const lastEventId = events.data?.organizationEvents.id;
  const stopped = Boolean(events.error);
  const handleEvent = useEffectEvent(onEvent);
  useEffect(() => {
    if (lastEventId || stopped) handleEvent();
  }, [lastEventId, stopped]);
  const state: LiveState = pause ? 'off' : stopped ? 'stopped' : 'live';
  return { state, restart: () => restart() };
}

/** Whether the page follows its events: "Live", or stopped with a way to start again. */
export function LiveStatus({ state, restart }: { state: LiveState; restart: () => void }) {
  if (state === 'off') return null;
  return (
    <span className="live">
      <span role="status" className="badge">
        {state === 'live' ? 'Live' : 'Live updates stopped'}
      </span>
      {state === 'live' ? null : (
        <button type="button" className="button button-quiet" onClick={restart}>
          Reconnect
        </button>
      )}
    </span>
  );
}
