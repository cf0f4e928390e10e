#!/usr/bin/env node
// Opens a page in headless Chromium (through chromium.js) and waits until its
// visible text contains a given string. Used by the Go interop tests to drive
// pages that do not set window.testResult, such as examples/echo/index.html.
//
// Usage:
//   node page_text.js <http-url> <waitForText> [--timeout=ms]
//
// Prints document.body.innerText on stdout once it contains waitForText and
// exits 0. On timeout (default 60000 ms) it prints whatever text the page has
// and exits 1. The page console goes to stderr.
'use strict';

const { launch } = require('./chromium');

async function main() {
  const argv = process.argv.slice(2);
  const pos = argv.filter((a) => !a.startsWith('--'));
  const t = argv.find((a) => a.startsWith('--timeout='));
  const timeout = t ? Number(t.slice('--timeout='.length)) : 60000;
  if (pos.length !== 2) {
    process.stderr.write('usage: node page_text.js <url> <waitForText> [--timeout=ms]\n');
    return 2;
  }
  const [url, want] = pos;
  let browser;
  let text = '';
  let ok = false;
  try {
    browser = await launch();
    const page = await browser.context.newPage();
    page.on('console', (m) => process.stderr.write(`[page console.${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => process.stderr.write(`[page pageerror] ${e.message}\n`));
    try {
      await page.goto(url, { timeout });
      await page.waitForFunction(
        (w) => Boolean(document.body) && document.body.innerText.includes(w),
        want,
        { timeout, polling: 100 },
      );
      ok = true;
    } catch (err) {
      process.stderr.write(`page_text: ${err.message.split('\n')[0]}\n`);
    }
    text = await page.evaluate(() => (document.body ? document.body.innerText : '')).catch(() => '');
    await page.close().catch(() => {});
  } catch (err) {
    process.stderr.write(`page_text: browser: ${err.message.split('\n')[0]}\n`);
  } finally {
    if (browser) await browser.close();
  }
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code));
