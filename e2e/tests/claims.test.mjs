// A claim from filing to decision in a real browser: a village clerk on a 360-px phone files it
// with three photos, the coder finds the diagnosis code by its Chinese name and sees the DRG, the
// grouping trace and the subsidy, the reviewer approves, and the member's page shows the
// decision. Screenshots land in e2e/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import zlib from 'node:zlib';
import { start, signIn, shots } from './harness.mjs';

let env;
before(async () => { env = await start(2000, 20); });
after(async () => { await env?.stop(); });

/** A small grey "photo" as a valid PNG (each seed different, so no duplicate flags). */
function photo(seed) {
  const w = 120, h = 160;
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w + 1)] = 0;
    for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = (x * 3 + y * 5 + seed * 17) & 0xff;
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const day = (offset) => new Date(Date.now() + offset * 86400000 + 8 * 3600000).toISOString().slice(0, 10);

async function noHorizontalScroll(page, what) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `${what} is ${width}px wide on a 360-px phone`);
}

test('a clerk files a claim on a phone, the coder codes it, the reviewer approves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-photos-'));
  const files = ['discharge', 'costs', 'settlement'].map((name, i) => {
    const path = join(dir, `${name}.png`);
    writeFileSync(path, photo(i + 1));
    return path;
  });

  // 1. The village clerk, on a 360-px phone, finds a member of the village and files.
  const phone = await signIn(env, 'clerk', { width: 360, height: 740 });
  await phone.goto(`${env.base}/regions/370323104201`);
  const households = await phone.$$eval('a[href^="/households/"]', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(households.length > 0, 'the village lists households');
  let claimUrl = null, memberUrl = null;
  for (const hh of households.slice(0, 6)) {
    await phone.goto(`${env.base}${hh}`);
    const members = await phone.$$eval('a[href^="/members/"]', (as) =>
      [...new Set(as.map((a) => a.getAttribute('href')).filter((h) => /^\/members\/\d+$/.test(h)))]);
    for (const m of members.slice(0, 2)) {
      await phone.goto(`${env.base}${m}/claims/new`);
      await noHorizontalScroll(phone, 'the claim form');
      await phone.selectOption('select[name=hospital]', { index: 1 });
      await phone.fill('input[name=admission]', day(-12));
      await phone.fill('input[name=discharge]', day(-5));
      await phone.fill('input[name=settlement_no]', `E2E-${Date.now()}`);
      await phone.fill('input[name=total]', '30000');
      await phone.fill('input[name=basic]', '10000');
      await phone.setInputFiles('input[name=discharge_record]', files[0]);
      await phone.setInputFiles('input[name=cost_list]', files[1]);
      await phone.setInputFiles('input[name=settlement]', files[2]);
      await phone.screenshot({ path: join(shots, 'claim-form-phone.png'), fullPage: true });
      await phone.click('button:has-text("提交申请")');
      await phone.waitForLoadState('load');
      if (/\/claims\/\d+/.test(phone.url())) { claimUrl = phone.url().split('?')[0]; memberUrl = m; break; }
      // Not enrolled this year: the reason is shown in Chinese; try the next member.
      assert.match(await phone.textContent('[role=alert]'), /未参加|参保率|起付线/);
    }
    if (claimUrl) break;
  }
  assert.ok(claimUrl, 'a claim was filed for one of the first members');
  assert.match(await phone.textContent('[role=status]'), /申请编号/);
  assert.match(await phone.textContent('.claim-status'), /待编码/);
  await noHorizontalScroll(phone, 'the claim page');
  await phone.screenshot({ path: join(shots, 'claim-filed-phone.png'), fullPage: true });

  // 2. The coder finds codes by Chinese name and sees the DRG, the trace and the subsidy.
  const coder = await signIn(env, 'coder');
  await coder.goto(`${env.base}/claims`);
  assert.ok(await coder.isVisible(`a[href="${new URL(claimUrl).pathname}"]`), 'the claim is in the coder\'s queue');
  await coder.goto(`${claimUrl}/codes?q=${encodeURIComponent('肺炎')}`);
  const codes = await coder.$$eval('table.codes tbody tr', (rows) => rows
    .filter((r) => r.cells[0].textContent.includes('诊断'))
    .map((r) => r.cells[1].textContent.trim()));
  assert.ok(codes.length > 0, 'searching 肺炎 finds diagnosis codes');
  await coder.screenshot({ path: join(shots, 'claim-codes.png'), fullPage: true });
  let subsidised = false;
  for (const code of codes.slice(0, 15)) {
    await coder.goto(claimUrl);
    await coder.fill('input[name=principal]', code);
    await coder.click('button:has-text("保存编码并计算")');
    await coder.waitForLoadState('load');
    if (await coder.isVisible('.evaluation .amount')) { subsidised = true; break; }
  }
  assert.ok(subsidised, 'one of the pneumonia codes groups into a DRG of the published table');
  assert.match(await coder.textContent('.drg-code'), /^[A-Z]{2}\d{2}/);
  assert.match(await coder.textContent('.evaluation .steps'), /病组定额/);
  assert.ok((await coder.$$('.evaluation .trace li')).length > 0, 'the grouping trace is shown');
  await coder.screenshot({ path: join(shots, 'claim-coded.png'), fullPage: true });
  await coder.click('button:has-text("提交审核")');
  await coder.waitForLoadState('load');
  assert.match(await coder.textContent('.claim-status'), /待审核/);
  assert.equal(await coder.$('form[action$="/review"]'), null, 'the coder gets no review form');

  // 3. The reviewer approves.
  const reviewer = await signIn(env, 'reviewer');
  await reviewer.goto(claimUrl);
  await reviewer.check('input[name=decision][value=approve]');
  await reviewer.click('button:has-text("提交审核结论")');
  await reviewer.waitForLoadState('load');
  assert.match(await reviewer.textContent('.claim-status'), /已核准/);
  await reviewer.screenshot({ path: join(shots, 'claim-approved.png'), fullPage: true });

  // 4. The member's page shows the decision, on the clerk's phone.
  await phone.goto(`${env.base}${memberUrl}`);
  assert.match(await phone.textContent('main'), /已核准/);
  await noHorizontalScroll(phone, 'the member page');
  await phone.screenshot({ path: join(shots, 'member-claims-phone.png'), fullPage: true });
});
