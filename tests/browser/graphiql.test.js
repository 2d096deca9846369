// GraphiQL as a person uses it: orgraph serves `/` with local assets
// (--graphiql-assets, filled by fetch-graphiql-assets.sh), headless Chromium
// loads it, the bearer token goes into the Headers editor, a query runs and
// its result shows in the page, then a seatChanges subscription runs over
// /graphql/ws and a seat assigned over HTTP shows up as an event.
// Screenshots land in tests/artifacts/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../node/launcher.js';

const here = dirname(fileURLToPath(import.meta.url));
const ASSETS = resolve(here, process.env.ORGRAPH_GRAPHIQL_ASSETS_DIR || 'graphiql-assets');
const ARTIFACTS = resolve(here, '../artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

async function gql(base, token, query, variables) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

let srv; let ctx; let profile;
before(async () => {
  assert.ok(existsSync(join(ASSETS, 'graphiql.min.js')), `run fetch-graphiql-assets.sh first (${ASSETS})`);
  srv = await startServer({ extraArgs: ['--graphiql-assets', ASSETS] });
  profile = mkdtempSync(join(tmpdir(), 'orgraph-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await ctx?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await srv?.stop();
});

/** Replace an editor's text the way typing would (CodeMirror fires its change events). */
async function setEditor(page, selector, text) {
  // GraphiQL keeps the variables and headers editors both mounted, one hidden.
  const editor = page.locator(`${selector} .CodeMirror`).locator('visible=true').first();
  await editor.waitFor();
  await editor.evaluate((el, t) => el.CodeMirror.setValue(t), text);
  // GraphiQL derives the operation name from the text after a debounce, as
  // it would while someone types; running before that sends the old name.
  await page.waitForTimeout(500);
}
const responseText = (page) => page.evaluate(() => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() || '');

test('GraphiQL runs a query and a seatChanges subscription with the bearer from its headers editor', async () => {
  const { base } = srv;
  const tok = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', username: srv.adminEmail, password: srv.adminPassword }),
  }).then((r) => r.json());
  const jwt = tok.access_token;
  const org = (await gql(base, jwt, 'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }',
    { i: { handle: 'browser-acme', name: 'Browser Acme' } })).createOrganization.organization;
  const user = (await gql(base, jwt, 'mutation($i: CreateUserInput!) { createUser(input: $i) { account { id } } }',
    { i: { organization: org.id, firstName: 'Robo' } })).createUser.account;

  const page = await ctx.newPage();
  try {
    await run(page, base, jwt, org, user);
  } catch (e) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'graphiql-failure.png') }).catch(() => {});
    e.message += `\nresponse pane: ${await responseText(page).catch(() => '?')}`;
    throw e;
  }
});

async function run(page, base, jwt, org, user) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // Failed loads are reported by URL below; the browser's own favicon probe is not the page's.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text().slice(0, 200)}`); });
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()}: ${r.url()}`); });
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
  await page.goto(`${base}/`);
  await page.locator('.graphiql-container').waitFor({ timeout: 15_000 });
  // The default tab explains how to get a token.
  const firstQuery = await page.evaluate(() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue());
  assert.match(firstQuery, /\/oauth\/token/);
  assert.match(firstQuery, /create-admin/);

  // Without a bearer the websocket is refused, and the page says so at once
  // (no retry loop behind a spinner).
  const subscription = `subscription Seats { seatChanges(organization: "${org.id}") { kind used limit account { id } } }`;
  await setEditor(page, '.graphiql-query-editor', subscription);
  await page.locator('.graphiql-execute-button').click();
  await page.waitForFunction(() => (document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() || '').length > 0, null, { timeout: 5_000 });
  assert.match(await responseText(page), /4403 Forbidden/);
  // GraphiQL 3 also rethrows that socket error as an uncaught page error;
  // that one is expected, anything else is not.
  await page.waitForTimeout(200);
  for (let i = problems.length - 1; i >= 0; i--) {
    if (/^pageerror: Socket closed with event 4403 Forbidden$/.test(problems[i])) problems.splice(i, 1);
  }

  await page.getByRole('button', { name: 'Headers' }).click();
  await setEditor(page, '.graphiql-editor-tool', JSON.stringify({ Authorization: `Bearer ${jwt}` }));

  await setEditor(page, '.graphiql-query-editor', 'query Org { organization(handle: "browser-acme") { name seats { used limit } } }');
  await page.locator('.graphiql-execute-button').click();
  await page.waitForFunction(() => (document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() || '').includes('Browser Acme'), null, { timeout: 10_000 });
  const queried = JSON.parse(await responseText(page));
  assert.deepEqual(queried.data.organization, { name: 'Browser Acme', seats: { used: 0, limit: 5 } });
  // The result is on screen, not only in the editor model.
  assert.ok(await page.locator('.graphiql-response').getByText('Browser Acme').isVisible());
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'graphiql-query.png') });

  await setEditor(page, '.graphiql-query-editor', subscription);
  await page.locator('.graphiql-execute-button').click();
  // Wait until the page's websocket subscribed before the change it must show.
  await page.waitForTimeout(800);
  await gql(base, jwt, 'mutation($i: SeatAccountsInput!) { assignSeats(input: $i) { seats { used } } }',
    { i: { organization: org.id, accounts: [user.id] } });
  await page.waitForFunction(() => (document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() || '').includes('ASSIGNED'), null, { timeout: 10_000 });
  const event = JSON.parse(await responseText(page));
  assert.deepEqual(event.data.seatChanges, { kind: 'ASSIGNED', used: 1, limit: 5, account: { id: user.id } });
  assert.ok(await page.locator('.graphiql-response').getByText('ASSIGNED').isVisible());
  await page.screenshot({ path: join(ARTIFACTS, 'graphiql-subscription.png') });

  assert.deepEqual(problems, [], 'the page loaded and ran without errors');
}
