// A statement of volunteering in a real browser (Debian's Chromium, driven by puppeteer-core): the demo volunteer
// signs in through the API, finds her statement's address, and the page is opened as an employer would, on a
// phone and a desktop and as printed; axe-core finds no violations; screenshots are written to OUT.
//
// Usage: node statement.js API_URL EMAIL PASSWORD OUT   (run by .ci/browser against the demo data)
const fs = require('fs');
const path = require('path');
const chromium = require('./chromium');
const checks = require('./checks');

const { check, violations, finish } = checks;
const [apiUrl, email, password, out] = process.argv.slice(2);
const gql = (query, variables, token) => checks.gql(apiUrl, query, variables, token);

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const login = await gql('mutation($input: LoginInput!) { login(input: $input) { accessToken } }', { input: { email, password } });
  const token = login.data && login.data.login.accessToken;
  check(Boolean(token), 'the demo volunteer signs in');
  const mine = await gql('{ me { volunteerProfile { statements { url totalHours } } } }', {}, token);
  const statement = mine.data.me.volunteerProfile.statements[0];
  check(Boolean(statement), 'she has a statement of volunteering');
  const browser = await chromium.launch();
  try {
    for (const width of [320, 1280]) {
      const page = await browser.newPage();
      await page.setViewport({ width, height: 900 });
      const response = await page.goto(statement.url, { waitUntil: 'networkidle0' });
      check(response.status() === 200, `at ${width} px the statement answers 200`);
      const heading = await page.$eval('h1', (h) => h.textContent);
      check(heading === 'Statement of volunteering', `at ${width} px it is headed as a statement (${heading})`);
      const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.textContent));
      check(rows.length >= 1 && rows[0].includes('English'), `at ${width} px it lists her role (${rows})`);
      const total = await page.$eval('tfoot td', (td) => td.textContent);
      check(Number(total) === statement.totalHours, `at ${width} px the total is her approved hours (${total})`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      check(overflow <= 0, `at ${width} px nothing is wider than the page (${overflow} px over)`);
      const found = await violations(page);
      check(found.length === 0, `at ${width} px axe-core finds no violations: ${JSON.stringify(found)}`);
      await page.screenshot({ path: path.join(out, `statement-${width}.png`), fullPage: true });
      if (width === 1280) {
        await page.emulateMediaType('print');
        const header = await page.$eval('header.site', (h) => getComputedStyle(h).display);
        check(header === 'none', 'printed, the site header is left off');
        await page.screenshot({ path: path.join(out, 'statement-print.png'), fullPage: true });
      }
      await page.close();
    }
  } finally {
    await browser.close();
  }
  finish();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
