// Helper to drive Debian's headless Chromium through playwright-core (npm
// cannot download browsers here). Reused by browser.js and by any script that
// needs several pages at once (e.g. a chat test).
//
//   const { launch, runPage } = require('./chromium');
//   const browser = await launch();              // { context, close() }
//   const [a, b] = await Promise.all([
//     runPage(browser.context, urlA, { timeout: 30000 }),
//     runPage(browser.context, urlB, { timeout: 30000 }),
//   ]);                                          // each: window.testResult
//   await browser.close();
//
// WSSTD_CHROMIUM (or CHROMIUM)=/path/to/binary overrides the default
// /usr/bin/chromium.
//
// Options (launch(opts)) and their environment equivalents, for scripts such
// as browser.js that take no options:
//   ignoreCertificateErrors  CHROMIUM_IGNORE_CERT_ERRORS=1   accept any TLS
//       certificate (the Go tests' self-signed httptest servers):
//       --ignore-certificate-errors plus playwright's ignoreHTTPSErrors.
//   extraArgs                CHROMIUM_EXTRA_FLAGS="--a --b"  more flags,
//       e.g. --enable-features=...
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Background traffic (updates, accounts, autofill) goes to a closed port
  // on loopback instead of the network; Chromium never proxies loopback
  // itself, so the pages under test are unaffected. A later
  // --proxy-server in CHROMIUM_EXTRA_FLAGS wins.
  '--proxy-server=http://127.0.0.1:9',
];

// Launches Chromium with a fresh throw-away profile directory.
async function launch(opts = {}) {
  const ignoreCerts = opts.ignoreCertificateErrors || process.env.CHROMIUM_IGNORE_CERT_ERRORS === '1';
  const args = [...FLAGS];
  if (ignoreCerts) args.push('--ignore-certificate-errors');
  args.push(...(opts.extraArgs || []));
  args.push(...(process.env.CHROMIUM_EXTRA_FLAGS || '').split(/\s+/).filter(Boolean));
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsstd-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.WSSTD_CHROMIUM || process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args,
      ignoreHTTPSErrors: Boolean(ignoreCerts),
    });
  } catch (err) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// Opens url in a new page, forwards its console to stderr (prefixed with
// `tag`), waits for window.testDone === true and returns window.testResult.
// On timeout it returns {ok:false, errors:[...]} including any partial result.
async function runPage(context, url, { timeout = 60000, tag = 'page' } = {}) {
  const page = await context.newPage();
  page.on('console', (m) => process.stderr.write(`[${tag} console.${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => process.stderr.write(`[${tag} pageerror] ${e.message}\n`));
  try {
    await page.goto(url, { timeout });
    await page.waitForFunction(() => window.testDone === true, null, { timeout, polling: 100 });
    return await page.evaluate(() => window.testResult);
  } catch (err) {
    const partial = await page.evaluate(() => window.testResult).catch(() => undefined);
    const res = partial && typeof partial === 'object' ? { ...partial } : {};
    res.ok = false;
    res.errors = [...(res.errors || []), `${tag}: ${err.message.split('\n')[0]}`];
    return res;
  } finally {
    await page.close().catch(() => {});
  }
}

module.exports = { FLAGS, launch, runPage };
