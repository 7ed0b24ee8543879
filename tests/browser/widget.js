// The widget in a real browser (Debian's Chromium, driven by puppeteer-core): a partner's page on one loopback port
// embeds it with embed.js from the API on another; the iframe shows needs and resizes to fit them; "Show more"
// pages; "I can help" reaches the need's page; axe-core finds no violations in the widget or the page; screenshots
// at 320 px and 1280 px wide are written to OUT.
//
// Usage: node widget.js PARTNER_URL API_URL OUT   (run by .ci/browser, which serves both)
const fs = require('fs');
const path = require('path');
const chromium = require('./chromium');
const { check, violations, finish } = require('./checks');

const [partnerUrl, apiUrl, out] = process.argv.slice(2);

async function axe(frame, what) {
  const result = await violations(frame);
  check(result.length === 0, `axe-core finds no violations in ${what}: ${JSON.stringify(result)}`);
}

async function widgetFrame(page) {
  const handle = await page.waitForSelector('iframe', { timeout: 15000 });
  const frame = await handle.contentFrame();
  await frame.waitForSelector('li', { timeout: 15000 });
  return { handle, frame };
}

async function at(browser, width) {
  const page = await browser.newPage();
  await page.setViewport({ width, height: 900 });
  await page.goto(partnerUrl, { waitUntil: 'networkidle0' });
  const { handle, frame } = await widgetFrame(page);
  check(frame.url().startsWith(`${apiUrl}/embed/needs?`), `at ${width} px the iframe shows the API's widget (${frame.url()})`);
  const entries = await frame.$$eval('li', (items) => items.length);
  check(entries >= 2, `at ${width} px the widget lists needs (${entries})`);
  // Resized from its height messages: the iframe is as tall as its document, not the 420 px it started at.
  await page.waitForFunction(
    () => { const f = document.querySelector('iframe'); return f && f.style.height !== '420px'; },
    { timeout: 10000 },
  ).catch(() => {});
  const frameHeight = await page.$eval('iframe', (f) => f.getBoundingClientRect().height);
  const contentHeight = await frame.evaluate(() => Math.ceil(document.documentElement.scrollHeight));
  check(Math.abs(frameHeight - contentHeight) <= 2, `at ${width} px the iframe fits its content (${frameHeight} for ${contentHeight})`);
  const overflow = await frame.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `at ${width} px nothing is wider than the widget (${overflow} px over)`);
  await axe(frame, `the widget at ${width} px`);
  await page.screenshot({ path: path.join(out, `widget-${width}.png`), fullPage: true });
  return { page, handle, frame, entries };
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const browser = await chromium.launch();
  try {
    await at(browser, 320);
    const { page, frame, entries } = await at(browser, 1280);
    const firstTitles = await frame.$$eval('li h2', (hs) => hs.map((h) => h.textContent));

    // 200 % zoom: the same widget in half the width must still fit without sideways scrolling.
    await page.setViewport({ width: 640, height: 900, deviceScaleFactor: 2 });
    const zoomed = await frame.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    check(zoomed <= 0, `at 640 px (1280 at 200 %) nothing is wider than the widget (${zoomed} px over)`);

    // "Show more" pages on in the iframe.
    const more = await frame.$('a.more');
    check(more !== null, 'the widget offers "Show more"');
    if (more) {
      await Promise.all([frame.waitForNavigation({ waitUntil: 'networkidle0' }), more.click()]);
      const moreFrame = (await page.$('iframe').then((h) => h.contentFrame()));
      await moreFrame.waitForSelector('li');
      const titles = await moreFrame.$$eval('li h2', (hs) => hs.map((h) => h.textContent));
      const repeated = titles.filter((t) => firstTitles.includes(t));
      check(titles.length >= 1 && repeated.length === 0 && moreFrame.url().includes('after='),
        `"Show more" shows the next needs, none of the first page's (${JSON.stringify(titles)})`);
      await page.screenshot({ path: path.join(out, 'widget-1280-more.png'), fullPage: true });
    }
    check(entries >= 1, 'the first page had needs');

    // "I can help" opens the need's page (in a new tab, as its target says).
    await page.goto(partnerUrl, { waitUntil: 'networkidle0' });
    const { frame: fresh } = await widgetFrame(page);
    const help = await fresh.$('a.help');
    const href = await fresh.$eval('a.help', (a) => a.href);
    const opened = new Promise((resolve) => browser.once('targetcreated', resolve));
    await help.click();
    const target = await opened;
    const needPage = await target.page();
    await needPage.waitForSelector('h1', { timeout: 15000 });
    check(needPage.url() === href && href.startsWith(`${apiUrl}/needs/`), `"I can help" reaches the need's page (${needPage.url()})`);
    const heading = await needPage.$eval('h1', (h) => h.textContent.trim());
    check(heading.length > 0, `the need's page has its title as its heading ("${heading}")`);
    await axe(needPage.mainFrame(), "the need's page");
    await needPage.setViewport({ width: 320, height: 900 });
    const needOverflow = await needPage.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    check(needOverflow <= 0, `the need's page fits 320 px (${needOverflow} px over)`);
    await needPage.screenshot({ path: path.join(out, 'need-320.png'), fullPage: true });
  } finally {
    await browser.close();
  }
  finish();
  console.log('the widget passed in the browser');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
