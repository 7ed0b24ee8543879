// A notification email and its one-click unsubscribe in a real browser (Debian's Chromium, driven by puppeteer-core).
// The server sends the demo data's messages through a local SMTP server (aiosmtpd, into a maildir); the demo
// volunteer's message about her approved hours is read from there (tests/browser/mail_parts.py), its HTML body
// opened on a phone and a desktop, then the unsubscribe page it links to, whose button turns that kind of message off,
// as her notification preferences then say. axe-core finds no violations; screenshots are written to OUT.
//
// Usage: node mail.js API_URL MAILDIR EMAIL PASSWORD OUT   (run by .ci/browser against the demo data)
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const chromium = require('./chromium');
const checks = require('./checks');

const { check, violations: axe, finish } = checks;
const [apiUrl, maildir, email, password, out] = process.argv.slice(2);
const gql = (query, variables, token) => checks.gql(apiUrl, query, variables, token);

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const found = JSON.parse(execFileSync('python3', [path.join(__dirname, 'mail_parts.py'), maildir, email, out], { encoding: 'utf8' }));
  check(found.unsubscribe.startsWith(`${apiUrl}/unsubscribe/`), `the message has a one-click unsubscribe link (${found.subject})`);
  check(found.unsubscribePost === 'List-Unsubscribe=One-Click', 'it says the link takes a one-click POST (RFC 8058)');
  check(found.text.includes(found.unsubscribe), 'the plain-text body carries the same link');
  const browser = await chromium.launch();
  try {
    // The HTML body, as a mail client shows it.
    for (const width of [320, 1280]) {
      const page = await browser.newPage();
      await page.setViewport({ width, height: 900 });
      await page.goto(`file://${path.resolve(out, 'message.html')}`, { waitUntil: 'load' });
      const links = await page.$$eval('a', (as) => as.map((a) => a.href));
      check(links.includes(found.unsubscribe), `at ${width} px the message's footer links to the unsubscribe page`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      check(overflow <= 0, `at ${width} px nothing in the message is wider than the window (${overflow} px over)`);
      const violations = await axe(page);
      check(violations.length === 0, `at ${width} px axe-core finds no violations in the message: ${JSON.stringify(violations)}`);
      await page.screenshot({ path: path.join(out, `mail-${width}.png`), fullPage: true });
      await page.close();
    }
    // The unsubscribe page: opening it changes nothing; its button does.
    const page = await browser.newPage();
    await page.setViewport({ width: 320, height: 700 });
    const opened = await page.goto(found.unsubscribe, { waitUntil: 'networkidle0' });
    check(opened.status() === 200, 'the unsubscribe page answers 200');
    check(opened.headers()['referrer-policy'] === 'no-referrer', 'it sends no referrer onwards');
    const state = () => page.$eval('main', (m) => m.dataset.state);
    check((await state()) === 'CONFIRM', 'opening it only asks (mail scanners open links)');
    let violations = await axe(page);
    check(violations.length === 0, `axe-core finds no violations on the question: ${JSON.stringify(violations)}`);
    await page.screenshot({ path: path.join(out, 'unsubscribe-320.png'), fullPage: true });
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('button[type=submit]')]);
    check((await state()) === 'UNSUBSCRIBED', 'its button unsubscribes');
    violations = await axe(page);
    check(violations.length === 0, `axe-core finds no violations on the answer: ${JSON.stringify(violations)}`);
    await page.screenshot({ path: path.join(out, 'unsubscribed-320.png'), fullPage: true });
    await page.close();
  } finally {
    await browser.close();
  }
  const login = await gql('mutation($input: LoginInput!) { login(input: $input) { accessToken } }', { input: { email, password } });
  const token = login.data && login.data.login.accessToken;
  const prefs = await gql('{ notificationPreferences { kinds { kind enabled } } }', {}, token);
  const kinds = (prefs.data && prefs.data.notificationPreferences.kinds) || [];
  const off = kinds.filter((k) => !k.enabled).map((k) => k.kind);
  check(off.length === 1, `her preferences now have exactly one kind off (${off})`);
  finish();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
