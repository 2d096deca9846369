// Starts the real orgraph binary for a test: a free loopback port, a fresh
// temp data dir (SQLite inside it), mail written to files so a test can read
// invitation links, and a site admin made with `orgraph create-admin`.
//
// The Node tests always use SQLite, also when ORGRAPH_TEST_POSTGRES is set:
// they prove the wire protocol against real clients, and the Rust suite
// already covers both databases behind the same GraphQL surface.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = resolve(here, process.env.ORGRAPH_BIN || '../../target/debug/orgraph');
export const SCHEMA_PATH = resolve(here, '../../schema.graphql');

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * @param {{ email?: string, password?: string, extraArgs?: string[] }} opts
 * @returns {Promise<{base: string, wsUrl: string, dataDir: string, mailDir: string,
 *   adminEmail: string, adminPassword: string, stop: () => Promise<void>}>}
 */
export async function startServer(opts = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'orgraph-node-'));
  const mailDir = join(dataDir, 'mail');
  const adminEmail = opts.email || 'admin@example.com';
  const adminPassword = opts.password || 'a long node test passphrase 42';
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    ORGRAPH_DATA_DIR: dataDir,
    DATABASE_URL: `sqlite://${dataDir}/orgraph.db?mode=rwc`,
    ORGRAPH_MAIL: `file:${mailDir}`,
    ORGRAPH_PUBLIC_URL: base,
    ORGRAPH_LOG_FORMAT: 'json',
    RUST_LOG: process.env.RUST_LOG || 'warn',
  };
  const made = spawnSync(BIN, ['create-admin', '--email', adminEmail], {
    env: { ...env, ORGRAPH_ADMIN_PASSWORD: adminPassword },
    encoding: 'utf8',
  });
  if (made.status !== 0) {
    throw new Error(`create-admin failed (${made.status}): ${made.stderr || made.error}`);
  }
  const log = createWriteStream(join(dataDir, 'serve.log'));
  const child = spawn(BIN, ['serve', '--bind', `127.0.0.1:${port}`, ...(opts.extraArgs || [])], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) throw new Error(`orgraph exited early with ${exited}; see ${dataDir}/serve.log`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error('orgraph did not become ready in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    wsUrl: `ws://127.0.0.1:${port}/graphql/ws`,
    dataDir,
    mailDir,
    adminEmail,
    adminPassword,
    async stop() {
      if (exited === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      if (!process.env.ORGRAPH_KEEP_TEST_DATA) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
