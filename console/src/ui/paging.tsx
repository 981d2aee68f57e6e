// Paging a connection by cursor, forward with a way back: the pages'
// `after` cursors so far, and the row under a table that moves between
// them ("1–20 of 57 members", Previous page / Next page).
import { useState } from 'react';

/**
 * The `after` of each page seen so far, so "Previous" goes back one. A new
 * `key` (another filter) starts again at the first page.
 */
export function useCursorPages(key: string) {
  const [state, setState] = useState<{ key: string; afters: string[] }>({ key, afters: [] });
  const afters = state.key === key ? state.afters : [];
  return {
    after: afters.at(-1) ?? null,
    index: afters.length,
    next: (endCursor: string | null | undefined) => {
      if (endCursor) setState({ key, afters: [...afters, endCursor] });
    },
    previous: () => setState({ key, afters: afters.slice(0, -1) }),
  };
}

/** Where the table is among its pages, and the buttons between them. */
export function PageControls({
  noun,
  pageSize,
  pages,
  shown,
  total,
  pageInfo,
}: {
  /** Singular and plural: `['member', 'members']`. */
  noun: readonly [string, string];
  pageSize: number;
  pages: ReturnType<typeof useCursorPages>;
  shown: number;
  total: number;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}) {
  const firstIndex = pages.index * pageSize;
  const hasPrevious = pages.index > 0;
  return (
    <nav className="paging" aria-label={`${noun[1].charAt(0).toUpperCase()}${noun[1].slice(1)} pages`}>
      <p>
        {firstIndex + 1}–{firstIndex + shown} of {total} {total === 1 ? noun[0] : noun[1]}
      </p>
      {hasPrevious || pageInfo.hasNextPage ? (
        <div className="paging-buttons">
          <button type="button" className="button" disabled={!hasPrevious} onClick={pages.previous}>
            Previous page
          </button>
          <button
            type="button"
            className="button"
            disabled={!pageInfo.hasNextPage}
            onClick={() => pages.next(pageInfo.endCursor)}
          >
            Next page
          </button>
        </div>
      ) : null}
    </nav>
  );
}
