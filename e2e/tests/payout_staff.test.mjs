// The month's payout for a town finance officer in a real browser, on the demo county: last
// month's batch (paid, one failed line) and this month's (on notice) are on /payout; the closed
// batch shows its village totals, the failed line with the bank's reason and its bank files;
// downloading one gives the xlsx; the running batch cannot be approved by its own preparer and
// says from which day another officer may approve it; the reviewer has the objection and card
// queues. At 1366 and 360 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, signIn, shots } from './harness.mjs';

let env;
before(async () => { env = await start(2000, 20); });
after(async () => { await env?.stop(); });

async function noHorizontalScroll(page, what) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `${what} is ${width}px wide on a 360-px phone`);
}

async function batchLinks(page) {
  return page.$$eval('a[href^="/payout/batches/"]', (as) => as.map((a) => ({ href: a.getAttribute('href'), no: a.textContent.trim() })));
}

test('a town finance officer goes through the month', async () => {
  const page = await signIn(env, 'town');
  await page.goto(`${env.base}/payout`);
  await page.screenshot({ path: `${shots}/payout-list-1366.png`, fullPage: true });
  const batches = await batchLinks(page);
  assert.ok(batches.length >= 2, `last month's and this month's batch: ${JSON.stringify(batches)}`);
  const body = await page.textContent('main');
  assert.match(body, /公示中/);
  assert.match(body, /已完成/);

  // Last month's batch: closed, one failed line with the bank's reason, its bank files.
  const [current, last] = batches;
  await page.goto(`${env.base}${last.href}`);
  const closed = await page.textContent('main');
  assert.match(closed, /已完成/);
  assert.match(closed, /账户已冻结/);
  assert.doesNotMatch(closed, /未审批/);
  await page.screenshot({ path: `${shots}/payout-closed-1366.png`, fullPage: true });
  const xlsx = await page.$eval('a[href$="generic.xlsx"]', (a) => a.getAttribute('href'));
  const res = await page.request.get(`${env.base}${xlsx}`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /spreadsheetml/);
  const bytes = await res.body();
  assert.equal(bytes.subarray(0, 2).toString(), 'PK');

  // This month's batch: on notice; its preparer cannot approve it and is told why and when.
  await page.goto(`${env.base}${current.href}`);
  const running = await page.textContent('main');
  assert.match(running, /公示中/);
  assert.match(running, /可审批日期/);
  const approve = await page.$('form[action$="/approve"] button');
  if (approve) {
    await approve.click();
    await page.waitForLoadState('load');
    const after = await page.textContent('main');
    assert.match(after, /双人复核|公示期/, 'the refusal says why');
  }
  await page.screenshot({ path: `${shots}/payout-noticed-1366.png`, fullPage: true });

  // The same pages on a 360-px phone.
  const phone = await signIn(env, 'town', { width: 360, height: 740 });
  for (const [path, name] of [['/payout', 'list'], [current.href, 'noticed'], [last.href, 'closed']]) {
    await phone.goto(`${env.base}${path}`);
    await noHorizontalScroll(phone, path);
    await phone.screenshot({ path: `${shots}/payout-${name}-360.png`, fullPage: true });
  }
  await phone.close();
  await page.close();
});

test('the reviewer has the objection and card queues; the county sees every batch', async () => {
  const reviewer = await signIn(env, 'reviewer');
  for (const path of ['/payout/objections', '/payout/cards']) {
    const r = await reviewer.goto(`${env.base}${path}`);
    assert.equal(r.status(), 200, path);
  }
  await reviewer.close();
  const county = await signIn(env, 'county');
  await county.goto(`${env.base}/payout`);
  assert.ok((await batchLinks(county)).length >= 2);
  await county.close();
});
