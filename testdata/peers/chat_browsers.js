#!/usr/bin/env node
// Drives two headless-Chromium users through a conversation on the chat
// example's page (examples/chat/index.html), through the page's own UI, as
// people would: each fills in the Room and Name fields and clicks Join;
// alice types a line and presses Enter, bob types a reply and clicks Send.
// Used by examples/chat/browser_test.go.
//
// Usage:
//   node chat_browsers.js <base-http-url> [--timeout=ms] [--room=NAME]
//       [--alice-says=TEXT] [--bob-says=TEXT]
//
// Prints one JSON line on stdout:
//   {"alice": "<#log innerText>", "bob": "<#log innerText>", "ok": bool,
//    "errors": [...], "ms": {step: elapsed ms, ...}}
// and exits 0 only if every step finished. --timeout (default 20000) bounds
// each step. If CHAT_SCREENSHOT_DIR is set, the two pages are saved there as
// chat-alice.png and chat-bob.png (also on failure). Page consoles go to
// stderr.
'use strict';

const fs = require('fs');
const path = require('path');
const { launch } = require('./chromium');

function opt(argv, name, def) {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
}

// Resolves once the chat log of page shows a line equal to want.
function waitForLine(page, want, timeout) {
  return page.waitForFunction(
    (w) => document.getElementById('log').innerText.split('\n').some((l) => l.trim() === w),
    want,
    { timeout, polling: 50 },
  );
}

async function main() {
  const argv = process.argv.slice(2);
  const base = argv.find((a) => !a.startsWith('--'));
  if (!base) {
    process.stderr.write('usage: node chat_browsers.js <base-url> [--timeout=ms] [--room=NAME]\n');
    return 2;
  }
  const timeout = Number(opt(argv, 'timeout', '20000'));
  const room = opt(argv, 'room', 'lobby');
  const aliceSays = opt(argv, 'alice-says', 'hi bob');
  const bobSays = opt(argv, 'bob-says', 'hello alice');
  const shots = process.env.CHAT_SCREENSHOT_DIR || '';

  const result = { alice: '', bob: '', ok: false, errors: [], ms: {} };
  const start = Date.now();
  let last = start;
  const lap = (step) => {
    const now = Date.now();
    result.ms[step] = now - last;
    last = now;
  };

  let browser;
  const pages = {};
  try {
    browser = await launch();
    lap('launch');

    // Opens the page for who and joins room under that name through the
    // form, as a person would; resolves once the page says it is in.
    const join = async (who) => {
      const page = await browser.context.newPage();
      pages[who] = page;
      page.on('console', (m) => process.stderr.write(`[${who} console.${m.type()}] ${m.text()}\n`));
      page.on('pageerror', (e) => {
        process.stderr.write(`[${who} pageerror] ${e.message}\n`);
        result.errors.push(`${who}: page error: ${e.message}`);
      });
      await page.setViewportSize({ width: 900, height: 700 });
      await page.goto(base + '/', { timeout });
      await page.fill('#room', room, { timeout });
      await page.fill('#name', who, { timeout });
      await page.click('#connect', { timeout });
      await page.waitForFunction(
        (r) => document.getElementById('status').textContent === 'in room ' + r &&
          !document.getElementById('text').disabled,
        room,
        { timeout, polling: 50 },
      );
      return page;
    };

    const alice = await join('alice');
    await waitForLine(alice, `alice joined ${room}`, timeout);
    lap('alice joined');
    const bob = await join('bob');
    await Promise.all([
      waitForLine(alice, `bob joined ${room}`, timeout),
      waitForLine(bob, `bob joined ${room}`, timeout),
    ]);
    lap('bob joined');

    // alice types and presses Enter (the form's implicit submission).
    await alice.locator('#text').pressSequentially(aliceSays, { timeout });
    await alice.press('#text', 'Enter', { timeout });
    await Promise.all([
      waitForLine(alice, `alice: ${aliceSays}`, timeout),
      waitForLine(bob, `alice: ${aliceSays}`, timeout),
    ]);
    lap('alice said');

    // bob types and clicks Send.
    await bob.locator('#text').pressSequentially(bobSays, { timeout });
    await bob.click('#send', { timeout });
    await Promise.all([
      waitForLine(alice, `bob: ${bobSays}`, timeout),
      waitForLine(bob, `bob: ${bobSays}`, timeout),
    ]);
    lap('bob said');
    result.ok = result.errors.length === 0;
  } catch (err) {
    result.errors.push(err.message.split('\n')[0]);
  } finally {
    for (const who of ['alice', 'bob']) {
      const page = pages[who];
      if (!page) continue;
      result[who] = await page.evaluate(() => document.getElementById('log').innerText).catch((e) => {
        result.errors.push(`${who}: reading the log: ${e.message.split('\n')[0]}`);
        result.ok = false;
        return '';
      });
      if (shots) {
        const file = path.join(shots, `chat-${who}.png`);
        try {
          fs.mkdirSync(shots, { recursive: true });
          await page.screenshot({ path: file, fullPage: true, timeout });
        } catch (e) {
          result.errors.push(`${who}: screenshot ${file}: ${e.message.split('\n')[0]}`);
        }
      }
    }
    if (Object.keys(pages).length) lap('read and screenshots');
    if (browser) await browser.close();
    lap('close');
    result.ms.total = Date.now() - start;
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.ok ? 0 : 1;
}

main().then((code) => process.exit(code));
