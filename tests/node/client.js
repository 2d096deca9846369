// A GraphQL client as a frontend would write one (plain fetch, graphql-ws),
// except that every operation is first validated against schema.graphql:
// an operation the published schema rejects fails the test before it is sent.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { SCHEMA_PATH } from './launcher.js';

export const schema = buildSchema(readFileSync(SCHEMA_PATH, 'utf8'));

/** Operations sent so far (a test asserts that some were). */
export const sent = [];

export function checked(query) {
  const errors = validate(schema, parse(query));
  if (errors.length) {
    throw new Error(`operation does not validate against schema.graphql:\n${errors.map((e) => e.message).join('\n')}\n${query}`);
  }
  sent.push(query);
  return query;
}

export function hasMutation(name) {
  return Boolean(schema.getMutationType()?.getFields()[name]);
}

/** POST /graphql; returns the parsed body (data and errors). */
export async function gql(base, token, query, variables = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: checked(query), variables }),
  });
  const body = await res.json();
  return { status: res.status, ...body };
}

/** Like gql, but any GraphQL error fails. */
export async function ok(base, token, query, variables = {}) {
  const r = await gql(base, token, query, variables);
  if (r.errors?.length || !r.data) {
    throw new Error(`GraphQL errors (${r.status}): ${JSON.stringify(r.errors)}`);
  }
  return r.data;
}

export async function passwordToken(base, username, password) {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username, password }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`token endpoint ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

export function wsClient(url, token) {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
}

/**
 * Subscribes and returns {next(timeoutMs) → Promise<event>, stop()}.
 * The operation is validated like every other.
 */
export function subscribe(client, query, variables) {
  const queue = [];
  const waiters = [];
  let failure = null;
  const push = (item) => {
    const w = waiters.shift();
    if (w) w(item); else queue.push(item);
  };
  const stop = client.subscribe({ query: checked(query), variables }, {
    next: (v) => push({ value: v }),
    error: (e) => { failure = e; push({ error: e }); },
    complete: () => push({ complete: true }),
  });
  return {
    stop,
    next(timeoutMs = 5000) {
      if (failure) return Promise.reject(failure);
      const item = queue.shift();
      const got = item ? Promise.resolve(item) : new Promise((r) => waiters.push(r));
      const timeout = new Promise((_, fail) => setTimeout(() => fail(new Error(`no event within ${timeoutMs} ms`)), timeoutMs).unref());
      return Promise.race([got, timeout]).then((i) => {
        if (i.error) throw new Error(`subscription error: ${JSON.stringify(i.error)}`);
        if (i.complete) throw new Error('subscription completed without an event');
        return i.value;
      });
    },
  };
}

/** Mails written by ORGRAPH_MAIL=file:DIR, each as {headers, body, text}. */
export function mails(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((f) => {
    const text = readFileSync(join(dir, f), 'utf8').replace(/\r\n/g, '\n');
    const cut = text.indexOf('\n\n');
    const head = cut < 0 ? text : text.slice(0, cut);
    const headers = {};
    for (const line of head.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) headers[m[1].toLowerCase()] = m[2];
    }
    return { headers, body: cut < 0 ? '' : text.slice(cut + 2), text };
  });
}
