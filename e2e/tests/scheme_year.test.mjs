// A village clerk enrols a household; the town admin runs the one-click design and submits it;
// the county admin approves it; a resident looks the table up without signing in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { start, signIn, shots } from './harness.mjs';

let env;

before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

/** The open year of 大张庄镇 whose payment window is open (the demo's current year). */
async function currentYear(page) {
  await page.click('nav >> text=互助年度');
  const rows = await page.$$eval('table tbody tr', (trs) => trs.map((tr) => ({
    href: tr.querySelector('a').getAttribute('href'), text: tr.textContent,
  })));
  const row = rows.find((r) => r.text.includes('大张庄镇') && r.text.includes('进行中'));
  assert.ok(row, 'an open year of 大张庄镇');
  // The newest year is listed first.
  return row.href;
}

test('a clerk enrols a household and prints its receipt', async () => {
  const page = await signIn(env, 'clerk');
  const year = await currentYear(page);
  await page.goto(`${env.base}${year}/villages/370323104201`);
  await page.waitForSelector('h1:has-text("参保登记")');
  const enrol = page.locator('a:has-text("登记参保")').first();
  await enrol.click();
  await page.waitForSelector('text=整户参加');
  await page.screenshot({ path: join(shots, 'enrol.png'), fullPage: true });
  await page.selectOption('select[name=method]', 'cash');
  await page.click('button:has-text("确认参保")');
  await page.waitForSelector('h1:has-text("缴费收据")');
  assert.match(await page.textContent('dl.facts'), /\d{4}-\d{7}-1/);
  await page.screenshot({ path: join(shots, 'receipt.png'), fullPage: true });

  // The enrolment form works on a 360-px phone without sideways scrolling.
  const phone = await env.browser.newPage({ viewport: { width: 360, height: 740 }, isMobile: true });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${env.base}${year}/villages/370323104201`);
  await phone.locator('a:has-text("登记参保")').first().click();
  await phone.waitForSelector('text=整户参加');
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `enrolment form is ${width}px wide on a 360-px phone`);
  await phone.screenshot({ path: join(shots, 'enrol-phone.png'), fullPage: true });
});

test('the town designs, the county approves, residents read the table', async () => {
  const town = await signIn(env, 'town');
  const year = await currentYear(town);
  await town.goto(`${env.base}${year}/design`);
  await town.fill('input[name=surplus]', '5');
  await town.fill('input[name=shortfall]', '2.5');
  await town.click('button:has-text("一键设计")');
  await town.waitForURL(/\/designs\/\d+$/, { timeout: 120000 });
  await town.waitForSelector('figure.chart svg rect');
  const design = town.url();
  assert.match(await town.textContent('dl.facts'), /缺口概率/);
  await town.screenshot({ path: join(shots, 'design.png'), fullPage: true });
  await town.fill('input[name=q]', '肺炎');
  await town.click('form.search button');
  await town.waitForSelector('table.members tbody tr');
  // No DRG is named 肺炎: the grouper maps the diagnosis to its group.
  assert.match(await town.textContent('table.members'), /呼吸系统感染/);
  await town.goto(design);
  await town.click('button:has-text("提交审批")');
  await town.waitForSelector('.tag:has-text("待审批")');

  const county = await signIn(env, 'county');
  await county.goto(design);
  await county.fill('input[name=note]', '同意');
  await county.click('button:has-text("批准并发布")');
  await county.waitForURL(/\/table$/);
  assert.match(await county.textContent('h1'), /住院补助标准/);
  await county.screenshot({ path: join(shots, 'table.png'), fullPage: true });

  const resident = await env.browser.newPage({ viewport: { width: 360, height: 740 }, isMobile: true });
  await resident.goto(`${env.base}/public${year}/table`);
  await resident.fill('input[name=q]', '脑梗死');
  await resident.click('form.search button');
  await resident.waitForSelector('table.members');
  assert.match(await resident.textContent('table.members'), /BR2|BB2/);
  const width = await resident.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `public table is ${width}px wide on a 360-px phone`);
  await resident.screenshot({ path: join(shots, 'public-table.png'), fullPage: true });
});
