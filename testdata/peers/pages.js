#!/usr/bin/env node
// Opens several test pages at once in one headless Chromium (through
// chromium.js) and reports each page's window.testResult, as browser.js
// does for one page; a browser launch is the slowest step of a test.
//
// Usage:
//   node pages.js <http-url>... [--timeout=ms]
//
// Prints one JSON line per URL, in the order given, once every page is
// done: {"url":"...","result":<testResult>}; exits 0 only if every
// result.ok is true. CHROMIUM_IGNORE_CERT_ERRORS=1 accepts test
// certificates (see chromium.js).
'use strict';

const { launch, runPage } = require('./chromium');

async function main() {
  const argv = process.argv.slice(2);
  const urls = argv.filter((a) => !a.startsWith('--'));
  const t = argv.find((a) => a.startsWith('--timeout='));
  const timeout = t ? Number(t.slice('--timeout='.length)) : 60000;
  if (urls.length === 0) {
    process.stderr.write('usage: node pages.js <url>... [--timeout=ms]\n');
    return 2;
  }
  let results;
  let browser;
  try {
    browser = await launch();
    results = await Promise.all(urls.map((url, i) => runPage(browser.context, url, { timeout, tag: `page ${i}` })));
  } catch (err) {
    results = urls.map(() => ({ ok: false, errors: [`browser: ${err.message.split('\n')[0]}`] }));
  } finally {
    if (browser) await browser.close();
  }
  urls.forEach((url, i) => process.stdout.write(JSON.stringify({ url, result: results[i] === undefined ? null : results[i] }) + '\n'));
  return results.every((r) => r && r.ok === true) ? 0 : 1;
}

main().then((code) => process.exit(code));
