#!/usr/bin/env node
// Uses the echo example's page (examples/echo/index.html) in headless Chromium
// as a person does: waits for it to connect, types a message and presses
// Enter, clicks Send, Close, tries to send while closed, Reconnect, sends again
// and closes. Real key presses and clicks, through playwright-core.
//
// Usage:
//   node echo_page.js <http-url-of-the-page> [--timeout=ms]
//
// Prints one JSON line {ok, errors, steps, pageLog} and exits 0 only if ok.
// No screenshot is written (pass --screenshot=/tmp/x.png for one, outside the
// repository).
'use strict';

const { launch } = require('./chromium');

async function main() {
  const argv = process.argv.slice(2);
  const url = argv.find((a) => !a.startsWith('--'));
  const opt = (name) => {
    const a = argv.find((x) => x.startsWith(`--${name}=`));
    return a ? a.slice(name.length + 3) : undefined;
  };
  const timeout = Number(opt('timeout') || 60000);
  const shot = opt('screenshot');
  if (!url) {
    process.stderr.write('usage: node echo_page.js <url> [--timeout=ms] [--screenshot=file]\n');
    return 2;
  }
  const result = { ok: false, errors: [], steps: [], pageLog: '' };
  let browser;
  let page;
  const step = (s) => { result.steps.push(s); process.stderr.write(`step: ${s}\n`); };
  const logText = () => page.locator('#log').innerText();
  const waitLog = async (what, n = 1) => {
    await page.waitForFunction(
      ([w, k]) => document.getElementById('log').textContent.split(w).length - 1 >= k,
      [what, n], { timeout: 15000, polling: 50 });
  };
  const waitState = (s) => page.waitForFunction(
    (want) => document.getElementById('state').textContent === want, s, { timeout: 15000, polling: 50 });
  try {
    browser = await launch();
    page = await browser.context.newPage();
    const failed = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
    page.on('console', (m) => process.stderr.write(`[page console.${m.type()}] ${m.text()}\n`));
    await page.goto(url, { timeout });

    await waitState('open');
    await waitLog('received: Hello, Server!');
    step(`connected: subprotocol ${await page.locator('#protocol').innerText()}, extensions ${await page.locator('#extensions').innerText()}`);

    // Type into the box and press Enter.
    await page.locator('#msg').fill('');
    await page.locator('#msg').type('typed with the keyboard');
    await page.locator('#msg').press('Enter');
    await waitLog('received: typed with the keyboard');
    const rtt = await page.locator('#rtt').innerText();
    step(`Enter sent a message; round trip ${rtt}`);
    if (!/^\d+(\.\d+)? ms$/.test(rtt)) result.errors.push(`round trip shows ${JSON.stringify(rtt)}`);

    // Click Send.
    await page.locator('#msg').fill('clicked Send');
    await page.locator('#send').click();
    await waitLog('received: clicked Send');
    step('Send clicked');

    await page.locator('#close').click();
    await waitState('closed');
    await waitLog('closed: code 1000, reason bye from the page');
    step('Close clicked');
    if (!(await page.locator('#send').isDisabled())) result.errors.push('Send is enabled after the close');
    const before = await logText();
    await page.locator('#msg').fill('after the close');
    await page.locator('#msg').press('Enter');
    const after = (await logText()).slice(before.length);
    if (/sent:/.test(after)) result.errors.push(`Enter after the close logged a send: ${JSON.stringify(after)}`);
    step(`Enter while closed added ${JSON.stringify(after.trim())}`);

    await page.locator('#reconnect').click();
    await waitState('open');
    await waitLog('received: Hello, Server!', 2);
    step('Reconnect clicked');
    await page.locator('#msg').fill('after reconnecting');
    await page.locator('#send').click();
    await waitLog('received: after reconnecting');
    await page.locator('#close').click();
    await waitState('closed');
    await waitLog('closed: code 1000', 2);
    step('sent again and closed');

    if (shot) await page.screenshot({ path: shot, fullPage: true });
    result.pageLog = await logText();
    if (/error/.test(result.pageLog)) result.errors.push('the page logged an error');
    if (failed.length) result.errors.push(`failed requests (a favicon?): ${failed.join(', ')}`);
  } catch (err) {
    result.errors.push(err.message.split('\n')[0]);
    if (page) result.pageLog = await logText().catch(() => '');
  } finally {
    if (browser) await browser.close();
  }
  result.ok = result.errors.length === 0;
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.ok ? 0 : 1;
}

main().then((code) => process.exit(code));
