#!/usr/bin/env node
// Drives the cluster example's page in headless Chromium for
// browser_test.go, one command per stdin line, one answer per stdout line:
//
//   {"op":"open","url":...,"room":...,"name":...}  open the page, fill in the
//        form, click Join; answers once the page has its welcome
//   {"op":"say","text":...}    type into the text field and press Enter
//   {"op":"wait","js":...}     wait until the JS expression is true
//   {"op":"state"}             window.chat's id, node, host, connects, events
//   {"op":"quit"}              close the browser and exit
//
// Answers are {"ok":true,"state":{...}} or {"ok":false,"error":"..."}.
// Every step is bounded by --timeout (ms, default 20000). Chromium is
// /usr/bin/chromium (or $CHROMIUM) with a fresh profile directory, removed
// on exit. Run with NODE_PATH pointing at testdata/peers/node_modules.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const a = process.argv.find((x) => x.startsWith('--timeout='));
const timeout = a ? Number(a.slice(10)) : 20000;

const state = () => window.chat && {
  id: window.chat.id, node: window.chat.node, host: window.chat.host,
  connects: window.chat.connects, events: window.chat.events,
};

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-chromium-'));
  let context;
  let page;
  const answer = (v) => new Promise((resolve) => process.stdout.write(JSON.stringify(v) + '\n', resolve));
  try {
    context = await chromium.launchPersistentContext(dir, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: FLAGS,
    });
    await answer({ ok: true, ready: true });
    const rl = readline.createInterface({ input: process.stdin });
    for await (const l of rl) {
      const cmd = JSON.parse(l);
      try {
        switch (cmd.op) {
          case 'open':
            page = await context.newPage();
            page.on('console', (m) => process.stderr.write(`[page console.${m.type()}] ${m.text()}\n`));
            page.on('pageerror', (e) => process.stderr.write(`[pageerror] ${e.message}\n`));
            await page.goto(cmd.url, { timeout });
            await page.fill('#room', cmd.room, { timeout });
            await page.fill('#name', cmd.name, { timeout });
            await page.click('#connect', { timeout });
            await page.waitForFunction(() => window.chat.id !== '', null, { timeout, polling: 50 });
            break;
          case 'say':
            await page.waitForFunction(() => !document.getElementById('text').disabled, null, { timeout, polling: 50 });
            await page.fill('#text', cmd.text, { timeout });
            await page.press('#text', 'Enter', { timeout });
            break;
          case 'wait':
            await page.waitForFunction(cmd.js, null, { timeout, polling: 50 });
            break;
          case 'state':
            break;
          case 'quit':
            rl.close();
            break;
          default:
            throw new Error('unknown op ' + cmd.op);
        }
        await answer({ ok: true, state: page ? await page.evaluate(state) : null });
      } catch (e) {
        const st = page ? await page.evaluate(state).catch(() => null) : null;
        await answer({ ok: false, error: e.message.split('\n')[0], state: st });
      }
      if (cmd.op === 'quit') break;
    }
  } catch (e) {
    await answer({ ok: false, error: e.message.split('\n')[0] });
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0));
