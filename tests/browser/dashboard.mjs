// The dashboard in a real browser: sign in with the admin token, open the event from the
// events list, press Replay, and see the new attempt on the page. Screenshots of the
// overview and the event page go to $SCREENSHOTS.
//
// Env: INLET_ADMIN (http://127.0.0.1:PORT), INLET_ADMIN_TOKEN, EVENT_ID, SCREENSHOTS,
// CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const admin = process.env.INLET_ADMIN;
const token = process.env.INLET_ADMIN_TOKEN;
const eventId = process.env.EVENT_ID;
const shots = process.env.SCREENSHOTS;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // Quiet flags: this machine's network is closed, and Chromium's background calls would
  // only fail.
  args: [
    '--no-sandbox', '--headless=new', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${admin}/`);
  assert.match(page.url(), /\/login$/, 'signed out: the dashboard asks for the token');
  await page.fill('input[name=token]', token);
  await Promise.all([page.waitForURL(`${admin}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('svg.chart');
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });

  await page.goto(`${admin}/events`);
  await Promise.all([page.waitForURL(`**/events/${eventId}`), page.click(`a[href="/events/${eventId}"]`)]);
  const attempts = () => page.locator('div.attempts table tr').count();
  const before = await attempts();
  assert.ok(before >= 2, `a header row and the first attempt (${before} rows)`);
  await Promise.all([page.waitForURL(`**/events/${eventId}`), page.getByRole('button', { name: 'Replay', exact: true }).click()]);
  let after = before;
  for (let i = 0; i < 50 && after <= before; i++) {
    await page.waitForTimeout(200);
    await page.reload();
    after = await attempts();
  }
  assert.ok(after > before, `the replay's attempt shows (${before} → ${after} rows)`);
  await page.screenshot({ path: `${shots}/event.png`, fullPage: true });
  console.log(`browser: signed in, replayed ${eventId}: attempt rows ${before} → ${after}; screenshots in ${shots}`);
} finally {
  await browser.close();
}
