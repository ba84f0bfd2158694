// A town admin logs in, imports a roster file, and finds a member — in a real browser, against
// the real binary on a fresh SQLite database. Screenshots land in e2e/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { start, shots, fixtures } from './harness.mjs';

let env, browser, base;

before(async () => {
  env = await start();
  ({ browser, base } = env);
});

after(async () => {
  await env?.stop();
});

test('town admin imports a roster and finds a member', async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/login$/);
  await page.fill('input[name=username]', 'town');
  await page.fill('input[name=password]', 'shouwang2026');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/regions\/370323104$/);
  assert.ok(await page.isVisible('text=大张庄镇'));
  assert.ok(await page.isVisible('text=幸福社区'));
  await page.screenshot({ path: join(shots, 'town.png'), fullPage: true });

  await page.click('nav >> text=花名册导入');
  await page.setInputFiles('input[type=file]', join(fixtures, 'roster.xlsx'));
  await page.click('button:has-text("上传并导入")');
  await page.waitForSelector('#status[data-status=done]', { timeout: 30000 });
  assert.match(await page.textContent('#status'), /新增 3 人/);
  await page.screenshot({ path: join(shots, 'import-done.png') });

  await page.click('nav >> text=查找人员');
  await page.fill('input[name=q]', '欧阳');
  await page.click('button:has-text("查找")');
  await page.waitForSelector('text=欧阳守望');
  assert.ok(await page.isVisible('text=欧阳小雨'));
  // Lists show masked ID numbers only.
  assert.match(await page.textContent('table.members'), /3703\*{10}/);
  await page.click('text=欧阳守望');
  await page.waitForSelector('h1:has-text("欧阳守望")');
  assert.match(await page.textContent('dl.facts'), /138\*{4}8000/);
  await page.screenshot({ path: join(shots, 'member.png') });

  // The same on a 360-px phone.
  const phone = await browser.newPage({ viewport: { width: 360, height: 740 }, isMobile: true });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/search?q=${encodeURIComponent('欧阳')}`);
  await phone.waitForSelector('text=欧阳守望');
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `page is ${width}px wide on a 360-px phone`);
  await phone.screenshot({ path: join(shots, 'search-phone.png'), fullPage: true });
});

test('a wrong password gets a clear Chinese message', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=username]', 'town2');
  await page.fill('input[name=password]', 'wrong-password');
  await page.click('button[type=submit]');
  await page.waitForSelector('[role=alert]');
  assert.match(await page.textContent('[role=alert]'), /用户名或密码错误/);
});
