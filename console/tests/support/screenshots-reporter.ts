// Says, after everything else, where the page screenshots are (so that a
// person, or CI's log, can find them), how many axe findings of each impact
// the pages had, and which pages scroll sideways (all of it is in
// test-results/axe/*.json).
import fs from 'node:fs';
import path from 'node:path';
import type { Reporter } from '@playwright/test/reporter';
import { CONSOLE_DIR, screenshotsDir } from './stack';

interface Finding {
  id: string;
  impact: string | null;
  nodes: unknown[];
}

export default class ScreenshotsReporter implements Reporter {
  printsToStdio(): boolean {
    return true;
  }

  onEnd(): void {
    const dir = screenshotsDir();
    const shots = fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.png')).length : 0;
    console.log(`\nScreenshots (${shots}): ${dir}`);
    const axeDir = path.join(CONSOLE_DIR, 'test-results', 'axe');
    if (!fs.existsSync(axeDir)) return;
    const violations = new Map<string, number>();
    const toReview = new Map<string, number>();
    const count = (tally: Map<string, number>, key: string, nodes: number) => tally.set(key, (tally.get(key) ?? 0) + nodes);
    const wider: string[] = [];
    const files = fs.readdirSync(axeDir).filter((file) => file.endsWith('.json'));
    for (const file of files) {
      const widths = JSON.parse(fs.readFileSync(path.join(axeDir, file), 'utf8')) as Array<{
        width: number;
        overflow?: { scrollWidth: number; elements: string[] } | null;
        violations: Finding[];
        incomplete?: Finding[];
      }>;
      for (const width of widths) {
        if (width.overflow) {
          wider.push(`\n  ${file.replace(/\.json$/, '')} at ${width.width}px is ${width.overflow.scrollWidth}px wide: ${width.overflow.elements.join(', ')}`);
        }
        for (const v of width.violations) count(violations, `${v.impact ?? 'unknown'} ${v.id}`, v.nodes.length);
        for (const v of width.incomplete ?? []) count(toReview, `${v.impact ?? 'unknown'} ${v.id}`, v.nodes.length);
      }
    }
    const list = (tally: Map<string, number>) =>
      tally.size ? [...tally].sort().map(([key, nodes]) => `\n  ${key}: ${nodes} element(s)`).join('') : ' none';
    console.log(`Axe over ${files.length} pages at two widths: violations:${list(violations)}`);
    console.log(`Axe left for review (incomplete):${list(toReview)}`);
    console.log(`Pages wider than the window (sideways scrolling):${wider.length ? wider.join('') : ' none'}`);
    console.log(`  (details: ${axeDir})`);
  }
}
