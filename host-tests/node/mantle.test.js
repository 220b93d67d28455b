// The provider component in Node: transpiled by jco, WASI and wasi-http from jco's
// preview2-shim, against the Mantle emulator (`mantle-host emulate`). Run by
// scripts/test-node, which builds and transpiles the component first.
//
// The component's calls are synchronous (the shim does its I/O on a worker thread and
// waits), so what must keep running meanwhile runs elsewhere: the emulator in its own
// process, and a recording proxy in front of it on a worker thread, which tells which
// key each request carried.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { Worker } from "node:worker_threads";

import { _setEnv } from "@bytecodealliance/preview2-shim/cli";

// The component sees no environment of this process: every setting comes from the host.
_setEnv({});
const { provider } = await import("./generated/mantle.js");

const HOST_BIN = process.env.MANTLE_HOST_BIN;
const REGION = "us-west-2";
const TENANT_A_KEY = "tenant-a-static-key";
// Access keys from AWS's documentation, as in the official token generator's fixture.
const FIXTURE = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  sessionToken: undefined,
  expiration: undefined,
};
const OPENAI_MODEL = "openai.gpt-oss-120b";
// As a Genesis configuration names it; the component sends the id Mantle serves.
const CLAUDE_MODEL = "claude-opus-4.7";
// Mantle's catalog id of that model, as the listing has it.
const CLAUDE_ID = "anthropic.claude-opus-4-7";

let emulator;
let proxy;
let baseUrl;

/** Starts `mantle-host emulate` on a free port and reads its address from stderr. */
function startEmulator() {
  assert.ok(HOST_BIN, "MANTLE_HOST_BIN names the mantle-host binary");
  const child = spawn(
    HOST_BIN,
    ["emulate", "--listen", "127.0.0.1:0", "--region", REGION, "--key", TENANT_A_KEY],
    {
      // Tenant B's minted tokens are signed with these; nothing else of this environment.
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: FIXTURE.accessKeyId,
        AWS_SECRET_ACCESS_KEY: FIXTURE.secretAccessKey,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the emulator did not start in 30 s")), 30_000);
    child.on("exit", (code) => reject(new Error(`the emulator exited with ${code}`)));
    createInterface({ input: child.stderr }).on("line", (line) => {
      const found = line.match(/ at (http:\/\/127\.0\.0\.1:(\d+))\/v1/);
      if (found) {
        clearTimeout(timer);
        resolve({ child, port: Number(found[2]) });
      }
    });
  });
}

/** A proxy on a worker thread that forwards to the emulator and records each request. */
const PROXY_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const seen = [];
const server = http.createServer((req, res) => {
  seen.push({ path: req.url, authorization: req.headers.authorization ?? null });
  const upstream = http.request(
    { host: "127.0.0.1", port: workerData.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); },
  );
  upstream.on("error", () => res.destroy());
  req.pipe(upstream);
});
server.keepAliveTimeout = 1000;
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (m) => {
  if (m === "seen") parentPort.postMessage({ seen });
  if (m === "stop") { server.closeAllConnections(); server.close(() => process.exit(0)); }
});
`;

function ask(worker, message) {
  return new Promise((resolve) => {
    worker.once("message", resolve);
    if (message) worker.postMessage(message);
  });
}

before(async () => {
  emulator = await startEmulator();
  proxy = new Worker(PROXY_SOURCE, { eval: true, workerData: { port: emulator.port } });
  const { port } = await ask(proxy);
  baseUrl = `http://127.0.0.1:${port}/v1`;
});

after(async () => {
  if (proxy) {
    proxy.postMessage("stop");
    await new Promise((resolve) => proxy.once("exit", resolve));
  }
  emulator?.child.kill();
});

function config() {
  return `{ models: { providers: { "amazon-bedrock-mantle": { baseUrl: "${baseUrl}" } } } }`;
}

function chatRequest(model) {
  return {
    model,
    messages: [
      { tag: "system", val: "Be brief." },
      { tag: "user", val: [{ tag: "text", val: "What is the weather in Paris?" }] },
    ],
    tools: [],
    toolChoice: undefined,
    maxTokens: 512,
    temperature: undefined,
    topP: undefined,
    stop: [],
    reasoningEffort: undefined,
    extra: undefined,
  };
}

/** Reads a stream one event at a time with `next`. */
function readOneByOne(stream) {
  const events = [];
  for (;;) {
    const item = stream.next();
    if (item === undefined) return events;
    if (item.tag === "err") throw new Error(`stream error: ${JSON.stringify(item.val)}`);
    events.push(item.val);
  }
}

/** Reads a stream in batches with `getNext`, waiting on `subscribe`'s pollable. */
function readBatched(stream) {
  const events = [];
  for (;;) {
    const batch = stream.getNext();
    if (batch === undefined) {
      stream.subscribe().block();
      continue;
    }
    if (batch.length === 0) return events;
    for (const item of batch) {
      if (item.tag === "err") throw new Error(`stream error: ${JSON.stringify(item.val)}`);
      events.push(item.val);
    }
  }
}

function text(events) {
  return events
    .filter((e) => e.tag === "text-delta")
    .map((e) => e.val)
    .join("");
}

test("mint-token gives the official generator's token for its fixture", () => {
  const token = provider.mintToken(FIXTURE, REGION, 43200, 1752555600n);
  assert.ok(token.token.startsWith("bedrock-api-key-"));
  const decoded = Buffer.from(token.token.slice("bedrock-api-key-".length), "base64").toString();
  assert.equal(
    decoded,
    "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250715%2Fus-west-2%2Fbedrock%2Faws4_request&X-Amz-Date=20250715T050000Z&X-Amz-Expires=43200&X-Amz-SignedHeaders=host&X-Amz-Signature=924fe715b07676257098c59ab6ec75da00293dcc7f7fe2aba8e551374ceed9df&Version=1",
  );
  assert.equal(token.region, REGION);
  assert.equal(token.issuedAt, 1752555600n);
  assert.equal(token.expiresAt, 1752555600n + 43200n);
  assert.throws(() => provider.mintToken(FIXTURE, REGION, 0, 1752555600n), (e) => {
    return e.payload?.tag === "invalid-request";
  });
});

test("two tenants in one instance list and stream on both routes, each with its own credentials", async () => {
  // Tenant A has a bearer key; tenant B has access keys the component mints tokens from.
  const a = new provider.Client({ region: REGION, bearerToken: TENANT_A_KEY, credentials: undefined, config: config() });
  const b = new provider.Client({ region: REGION, bearerToken: undefined, credentials: FIXTURE, config: config() });
  const answers = {};
  for (const [name, client, read] of [
    ["a", a, readOneByOne],
    ["b", b, readBatched],
  ]) {
    const listing = client.list();
    const ids = listing.models.map((m) => m.id);
    assert.ok(ids.includes(OPENAI_MODEL), `${name}: ${ids}`);
    assert.ok(ids.includes(CLAUDE_ID), `${name}: ${ids}`);
    assert.deepEqual(listing.diagnostics, []);
    assert.equal(listing.models.find((m) => m.id === CLAUDE_ID).api, "anthropic-messages");
    for (const model of [OPENAI_MODEL, CLAUDE_MODEL]) {
      const stream = client.chatStream(chatRequest(model));
      const requestId = stream.requestId();
      assert.ok(requestId === undefined || requestId.startsWith("req_"), `${name} ${model}: ${requestId}`);
      const events = read(stream);
      assert.equal(events[0].tag, "message-start", `${name} ${model}`);
      assert.equal(events.at(-1).tag, "finish", `${name} ${model}`);
      assert.ok(events.some((e) => e.tag === "usage"), `${name} ${model}`);
      assert.ok(text(events).length > 0, `${name} ${model}: no text`);
      answers[`${name} ${model}`] = text(events);
    }
  }
  // The same request streams the same answer whichever tenant asks and however it reads.
  assert.equal(answers[`a ${OPENAI_MODEL}`], answers[`b ${OPENAI_MODEL}`]);
  assert.equal(answers[`a ${CLAUDE_MODEL}`], answers[`b ${CLAUDE_MODEL}`]);

  // A refused credential is typed, and refused before any event.
  const c = new provider.Client({ region: REGION, bearerToken: "not-a-key", credentials: undefined, config: config() });
  // The failure is a record: the error, and Mantle's request id when it answered with one.
  assert.throws(() => c.chatStream(chatRequest(OPENAI_MODEL)), (e) => e.payload?.error?.tag === "unauthorized");

  // Each tenant's requests carried its own key, on every route.
  const { seen } = await ask(proxy, "seen");
  const ofA = seen.filter((r) => r.authorization === `Bearer ${TENANT_A_KEY}`);
  const ofB = seen.filter((r) => r.authorization?.startsWith("Bearer bedrock-api-key-"));
  for (const [name, requests] of [
    ["a", ofA],
    ["b", ofB],
  ]) {
    const paths = requests.map((r) => r.path).sort();
    assert.deepEqual(paths, ["/anthropic/v1/messages", "/v1/chat/completions", "/v1/models"], name);
  }
  for (const r of ofB) {
    const decoded = Buffer.from(r.authorization.slice("Bearer bedrock-api-key-".length), "base64").toString();
    assert.ok(decoded.includes(`X-Amz-Credential=${FIXTURE.accessKeyId}%2F`), decoded);
    assert.ok(decoded.includes(`%2F${REGION}%2Fbedrock%2Faws4_request`), decoded);
  }
  // And the refused tenant's two: its listing (a client's first chat asks for one) and its chat.
  assert.equal(seen.length, ofA.length + ofB.length + 2, JSON.stringify(seen));
});
