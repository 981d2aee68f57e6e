// The tests' `test`: Playwright's, with every browser context watched.
// A test fails when a console page logs an error, throws, or asks any host
// but the server for anything (such requests are aborted): the console
// loads its own files and talks to its own server only. The SSO test
// allows the test IdP (`test.use({ allowIdp: true })`).
//
// Also here: signing a browser in with API-made tokens, waiting for a page
// to settle, and `audit`: axe at two widths plus a screenshot at each.
import fs from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { test as base, expect, type BrowserContext, type Page, type TestInfo } from '@playwright/test';
import type { Person } from './api';
import { stack } from './stack';

export { expect };

/** What went wrong in the browser during a test, in words. */
interface Guard {
  problems: string[];
  watch(context: BrowserContext): Promise<void>;
}

interface Fixtures {
  /** Let pages reach the test IdP (the SSO test). */
  allowIdp: boolean;
  guard: Guard;
  /** A further browser context (another person), watched and closed like the first. */
  newContext: () => Promise<BrowserContext>;
}

export const test = base.extend<Fixtures>({
  allowIdp: [false, { option: true }],

  guard: async ({ allowIdp }, provide) => {
    const guard = createGuard(allowIdp);
    await provide(guard);
    // After every context closed: all that happened in them.
    expect(guard.problems, 'console errors, page errors or requests to other hosts').toEqual([]);
  },

  context: async ({ context, guard }, provide) => {
    await guard.watch(context);
    await provide(context);
  },

  newContext: async ({ browser, guard, viewport, locale, timezoneId }, provide) => {
    const made: BrowserContext[] = [];
    await provide(async () => {
      const context = await browser.newContext({ viewport, locale, timezoneId });
      await guard.watch(context);
      made.push(context);
      return context;
    });
    for (const context of made) await context.close();
  },
});

function createGuard(allowIdp: boolean): Guard {
  const { serverUrl, consoleUrl, idpIssuer } = stack();
  const own = new Set([new URL(serverUrl).origin, new URL(consoleUrl).origin]);
  const idp = new URL(idpIssuer).origin;
  const problems: string[] = [];
  const onConsole = (url: string) => own.has(originOf(url));

  const watchPage = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error' && onConsole(page.url())) {
        problems.push(`console error on ${page.url()}: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => {
      if (onConsole(page.url())) problems.push(`uncaught ${error.name} on ${page.url()}: ${error.message}`);
    });
    page.on('websocket', (socket) => {
      if (!own.has(originOf(socket.url().replace(/^ws/, 'http')))) problems.push(`WebSocket to another host: ${socket.url()}`);
    });
  };

  return {
    problems,
    async watch(context) {
      context.pages().forEach(watchPage);
      context.on('page', watchPage);
      await context.route(
        () => true,
        async (route) => {
          const request = route.request();
          const origin = originOf(request.url());
          if (own.has(origin) || (allowIdp && origin === idp) || !/^https?:/.test(request.url())) {
            await route.fallback();
            return;
          }
          let from = '';
          try {
            from = request.frame().url();
          } catch {
            // a service worker's request: no frame
          }
          // The IdP's own pages fetch fonts from elsewhere: not the console's doing.
          if (!(allowIdp && originOf(from) === idp)) {
            problems.push(`request to another host: ${request.method()} ${request.url()} (from ${from || 'no page'})`);
          }
          await route.abort('blockedbyclient');
        },
      );
    },
  };
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

const SESSION_KEY = 'orgql.console.session';

/**
 * Signs the console in `context` in as `person` with tokens from the API,
 * as the sign-in page would have: once per tab, so signing out stays
 * signed out.
 */
export async function signInWithTokens(context: BrowserContext, person: Person): Promise<void> {
  const session = {
    accessToken: person.accessToken,
    refreshToken: person.refreshToken,
    accessTokenExpiresAt: person.accessTokenExpiresAt,
  };
  await context.addInitScript(
    ({ key, value, origin }) => {
      if (window.location.origin !== origin || sessionStorage.getItem('orgql.e2e.signed-in')) return;
      sessionStorage.setItem('orgql.e2e.signed-in', '1');
      sessionStorage.setItem(key, value);
    },
    { key: SESSION_KEY, value: JSON.stringify(session), origin: new URL(stack().consoleUrl).origin },
  );
}

/** The console's URL for `route` (such as /o/org_…/members). */
export function consolePage(route: string): string {
  return `${stack().consoleUrl}${route.startsWith('/') ? route : `/${route}`}`;
}

/**
 * The address to open for a mailed link: the link itself (the server sends
 * it on to the console), or, while developing against a separate console
 * (ORGQL_E2E_CONSOLE_URL), the console's page for it.
 */
export function mailedLinkUrl(link: string): string {
  const { serverUrl, consoleUrl } = stack();
  if (consoleUrl === `${serverUrl}/console`) return link;
  const url = new URL(link);
  return `${consoleUrl}${url.pathname}${url.search}`;
}

/**
 * Waits until the page has loaded its data: its heading shows, no loading
 * placeholder is left, and the network is quiet.
 */
export async function settled(page: Page): Promise<void> {
  await expect(page.locator('#page-title')).toBeVisible();
  await page.waitForLoadState('networkidle');
  await expect(page.locator('.loading, [aria-busy="true"]')).toHaveCount(0);
}

const WIDTHS = [
  { width: 1280, height: 800 },
  { width: 360, height: 740 },
] as const;

const BLOCKING = new Set(['serious', 'critical']);

/**
 * Audits the page as it is now, at 1280×800 and at 360×740: axe (a
 * serious or critical violation fails the test, softly, so that every page
 * is still visited) and a full-page screenshot at each width, named
 * `name`. Every finding, blocking or not, and what axe left for a person
 * to review, is kept in test-results/axe/`name`.json.
 */
export async function audit(page: Page, name: string, testInfo: TestInfo): Promise<void> {
  const original = page.viewportSize();
  const findings: unknown[] = [];
  await settled(page);
  // Layout shift while the page loaded its data (CLS; 0.1 is the usual bar
  // for "good"): loading placeholders hold the content's place.
  const layoutShift = await cumulativeLayoutShift(page);
  expect
    .soft(layoutShift.total, `${name}: layout shifted while loading (moved: ${layoutShift.moved.join(', ')})`)
    .toBeLessThan(0.1);
  for (const size of WIDTHS) {
    await page.setViewportSize(size);
    await settled(page);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const label = `${name} @ ${size.width}×${size.height}`;
    const results = await new AxeBuilder({ page }).analyze();
    findings.push({
      width: size.width,
      url: page.url(),
      overflow: await horizontalOverflow(page),
      passes: results.passes.length,
      violations: results.violations,
      // What axe could not decide alone (colour over images, say): for a person to look at.
      incomplete: results.incomplete.map(({ id, impact, help, nodes }) => ({
        id,
        impact,
        help,
        nodes: nodes.map((node) => ({ target: node.target, why: node.any[0]?.message ?? node.all[0]?.message })),
      })),
    });
    const blocking = results.violations.filter((violation) => BLOCKING.has(violation.impact ?? ''));
    expect
      .soft(blocking.length, `serious or critical axe violations on ${label}:\n${blocking.map(describeViolation).join('\n')}`)
      .toBe(0);
    const file = path.join(stack().screenshotsDir, `${name}-${size.width}x${size.height}.png`);
    await page.screenshot({ path: file, fullPage: true });
    expect.soft(findings.at(-1), `${label}: the page scrolls sideways`).toMatchObject({ overflow: null });
  }
  // Dark mode, from the system setting: axe again (contrast) and a look.
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await new AxeBuilder({ page }).analyze();
  const blockingInDark = dark.violations.filter((violation) => BLOCKING.has(violation.impact ?? ''));
  expect
    .soft(blockingInDark.length, `serious or critical axe violations on ${name} in dark mode:\n${blockingInDark.map(describeViolation).join('\n')}`)
    .toBe(0);
  await page.screenshot({ path: path.join(stack().screenshotsDir, `${name}-dark-360x740.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: null });
  findings.push({ colorScheme: 'dark', violations: dark.violations, layoutShift });
  const axeDir = path.join(testInfo.project.outputDir, 'axe');
  fs.mkdirSync(axeDir, { recursive: true });
  fs.writeFileSync(path.join(axeDir, `${name}.json`), JSON.stringify(findings, null, 2));
  if (original) await page.setViewportSize(original);
}

/** The page's cumulative layout shift so far (shifts right after input excluded). */
async function cumulativeLayoutShift(page: Page): Promise<{ total: number; moved: string[] }> {
  return page.evaluate(
    () =>
      new Promise<{ total: number; moved: string[] }>((resolve) => {
        let total = 0;
        const moved = new Set<string>();
        type Shift = { value: number; hadRecentInput: boolean; sources?: { node?: Node | null }[] };
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries() as unknown as Shift[]) {
            if (entry.hadRecentInput) continue;
            total += entry.value;
            for (const source of entry.sources ?? []) {
              const node = source.node;
              if (node instanceof Element) moved.add(`${node.tagName.toLowerCase()}.${[...node.classList].join('.')}`);
            }
          }
        }).observe({ type: 'layout-shift', buffered: true });
        setTimeout(() => resolve({ total, moved: [...moved] }), 100);
      }),
  );
}

/**
 * Whether the page is wider than the window (it scrolls sideways: WCAG
 * 1.4.10 Reflow at 320 CSS px), and the outermost elements that stick out.
 * Recorded, not failed on.
 */
async function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; elements: string[] } | null> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const scrollWidth = document.documentElement.scrollWidth;
    if (scrollWidth <= width) return null;
    const sticksOut = (el: Element) => el.getBoundingClientRect().right > width + 1;
    // Inside a box that scrolls or clips sideways and itself fits: contained.
    // An absolutely positioned element is clipped by such a box only if the
    // box is, or holds, its containing block (a visually hidden label in a
    // scrolling list may well stick out of the page).
    const contained = (el: Element) => {
      const { position } = getComputedStyle(el);
      const start = position === 'absolute' || position === 'fixed' ? (el as HTMLElement).offsetParent : el.parentElement;
      for (let up = start; up && up !== document.body; up = up.parentElement) {
        if (getComputedStyle(up).overflowX !== 'visible' && !sticksOut(up)) return true;
      }
      return false;
    };
    const wide = new Set([...document.body.querySelectorAll('*')].filter((el) => sticksOut(el) && !contained(el)));
    const outermost = [...wide].filter((el) => !el.parentElement || !wide.has(el.parentElement));
    const selector = (el: Element) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${[...el.classList].map((c) => `.${c}`).join('')}`;
    const describe = (el: Element) => {
      const holder = el.parentElement?.closest('table, ul, ol, nav, form, section');
      return `${selector(el)}${holder ? ` in ${selector(holder)}` : ''} (to ${Math.round(el.getBoundingClientRect().right)}px)`;
    };
    return { scrollWidth, elements: outermost.slice(0, 5).map(describe) };
  });
}

interface Violation {
  id: string;
  impact?: string | null;
  help: string;
  helpUrl: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

function describeViolation(violation: Violation): string {
  const nodes = violation.nodes
    .slice(0, 5)
    .map((node) => `    - ${JSON.stringify(node.target)}: ${(node.failureSummary ?? '').replace(/\s*\n\s*/g, '; ')}`)
    .join('\n');
  const more = violation.nodes.length > 5 ? `\n    …and ${violation.nodes.length - 5} more` : '';
  return `${violation.id} (${violation.impact}): ${violation.help}\n    ${violation.helpUrl}\n${nodes}${more}`;
}
