#!/usr/bin/env node
// Opens a test page (e.g. matrix.html served by the Go test server) in headless
// Chromium and reports the page's result.
//
// Usage:
//   node browser.js <http-url> [--timeout=ms]
//
// Waits until window.testDone === true, prints JSON.stringify(window.testResult)
// as one line on stdout, forwards the page console to stderr, and exits 0 only
// if testResult.ok is true.
'use strict';

const { launch, runPage } = require('./chromium');

async function main() {
  const argv = process.argv.slice(2);
  const url = argv.find((a) => !a.startsWith('--'));
  const t = argv.find((a) => a.startsWith('--timeout='));
  const timeout = t ? Number(t.slice('--timeout='.length)) : 60000;
  if (!url) {
    process.stderr.write('usage: node browser.js <url> [--timeout=ms]\n');
    return 2;
  }
  let result;
  let browser;
  try {
    browser = await launch();
    result = await runPage(browser.context, url, { timeout });
  } catch (err) {
    result = { ok: false, errors: [`browser: ${err.message.split('\n')[0]}`] };
  } finally {
    if (browser) await browser.close();
  }
  process.stdout.write(JSON.stringify(result === undefined ? null : result) + '\n');
  return result && result.ok === true ? 0 : 1;
}

main().then((code) => process.exit(code));
