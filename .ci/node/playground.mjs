// Opens the playground in headless Chromium with every other host blocked,
// opens the documentation explorer and waits for the schema's root types
// to show: proof that the page, its editor and introspection work offline
// under the default limits; and checks that it opens on the example tabs.
//
//   node playground.mjs http://127.0.0.1:PORT/graphql [screenshot.png]
//
// Chromium: $CHROMIUM, else /usr/bin/chromium.
import puppeteer from 'puppeteer-core';

const [url, screenshot] = process.argv.slice(2);
if (!url) {
  console.error('usage: node playground.mjs URL [screenshot.png]');
  process.exit(2);
}
const origin = new URL(url).origin;
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const problems = [];
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const target = request.url();
    if (target.startsWith(origin) || target.startsWith('data:') || target.startsWith('blob:')) {
      request.continue();
    } else {
      problems.push(`requested another host: ${target}`);
      request.abort();
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  await page.goto(url, { waitUntil: 'networkidle0', timeout: 60_000 });
  const docs = await page.waitForSelector('[aria-label="Show Documentation Explorer"]', {
    timeout: 30_000,
  });
  await docs.click();
  // The explorer lists the root types once introspection has answered.
  await page.waitForFunction(
    () => {
      const explorer = document.querySelector('.graphiql-doc-explorer');
      return explorer !== null && /query:\s*Query/.test(explorer.textContent ?? '');
    },
    { timeout: 30_000 },
  );
  const text = await page.$eval('.graphiql-doc-explorer', (el) => el.textContent ?? '');
  if (!text.includes('mutation') || !text.includes('Mutation')) {
    problems.push(`the docs show no mutation root: ${text.slice(0, 200)}`);
  }
  // It opens on the example tabs (sign in; viewer and members), the
  // first one showing its operations.
  const tabs = await page.$$eval('.graphiql-tab', (els) => els.length);
  if (tabs < 2) problems.push(`expected the two example tabs, found ${tabs}`);
  const editor = await page.$eval('.graphiql-query-editor', (el) => el.textContent ?? '');
  if (!editor.includes('SignUp') || !editor.includes('LogIn')) {
    problems.push(`the first tab does not show the sign-in examples: ${editor.slice(0, 200)}`);
  }
  if (screenshot) await page.screenshot({ path: screenshot });
} catch (error) {
  problems.push(`${error}`);
} finally {
  await browser.close();
}
for (const problem of problems) console.log(problem);
console.log(problems.length === 0 ? 'playground: docs loaded' : 'playground: FAILED');
process.exit(problems.length === 0 ? 0 : 1);
