// Drives the demo page in headless Chromium (Debian's, through
// playwright-core: no browser download) and reports what it saw, for
// tests/js/test_browser.py to check against Python.
//
//   node test/browser.mjs URL STEPS.json OUT.json
//
// STEPS is a list of actions, run in order once the page is ready:
//   {"fill": {"#v2": "text", ...}}        set inputs (change events fire)
//   {"click": "#run"}                     click, then wait for the page's run
//   {"upload": ["#delta-file", PATH]}     choose a file, then wait for it
//   {"snapshot": NAME}                    keep window.omsDemo.results and the
//                                         page's error boxes under NAME
//   {"screenshot": PATH}                  a full-page PNG
// OUT gets {"ready", "snapshots", "consoleErrors"}.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, stepsPath, outPath] = process.argv.slice(2);
const steps = JSON.parse(readFileSync(stepsPath, 'utf8'));
const profile = mkdtempSync(join(tmpdir(), 'oms-accel-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
  viewport: { width: 1200, height: 900 },
});
const out = { ready: false, snapshots: {}, consoleErrors: [] };
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => m.type() === 'error' && out.consoleErrors.push(m.text()));
  page.on('pageerror', (e) => out.consoleErrors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.omsDemo && (window.omsDemo.ready || window.omsDemo.failed), null, {
    timeout: 60_000,
  });
  out.ready = await page.evaluate(() => window.omsDemo.ready);
  for (const step of out.ready ? steps : []) {
    if (step.fill) {
      for (const [selector, value] of Object.entries(step.fill)) {
        await page.fill(selector, value);
        await page.dispatchEvent(selector, 'change');
      }
    } else if (step.click) {
      const runs = await page.evaluate(() => window.omsDemo.runs);
      await page.click(step.click);
      await page.waitForFunction((n) => window.omsDemo.runs > n, runs);
    } else if (step.upload) {
      const applied = await page.evaluate(() => window.omsDemo.applied ?? 0);
      await page.setInputFiles(step.upload[0], step.upload[1]);
      await page.waitForFunction((n) => (window.omsDemo.applied ?? 0) > n, applied);
    } else if (step.snapshot) {
      out.snapshots[step.snapshot] = await page.evaluate(() => ({
        results: structuredClone(window.omsDemo.results),
        errors: [...document.querySelectorAll('.error')].map((e) => e.textContent),
        status: document.getElementById('status').textContent,
        sha: document.getElementById('sha').textContent,
        times: Object.fromEntries([...document.querySelectorAll('section.result')].map((e) => [e.id, e.querySelector('.time').textContent])),
      }));
    } else if (step.screenshot) {
      await page.screenshot({ path: step.screenshot, fullPage: true });
    } else {
      throw new Error(`unknown step ${JSON.stringify(step)}`);
    }
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
writeFileSync(outPath, JSON.stringify(out));
