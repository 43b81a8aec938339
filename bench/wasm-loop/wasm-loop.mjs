// Profiling aid: a proxy-wasm filter's request path in V8 (Node), without Envoy.
//
//   node bench/wasm-loop/wasm-loop.mjs <filter.wasm> <cookie-header-file> [iterations] [config.json]
//   node --cpu-prof bench/wasm-loop/wasm-loop.mjs …     # a V8 CPU profile of the same loop
//
// It plays the host for one request after another, as Envoy does for a signed-in browser:
// context create → request headers (the bench's headers and cookie) → response headers → log →
// done → delete, and prints the microseconds per request. The same loop over the empty filter
// (`target/bench/bench_empty_filter.wasm`) is the floor, so the difference is the filter's own
// wasm time — what `make bench` cannot resolve under the noise of a shared machine. Host work
// (Envoy copying headers in and out) is not in it: that is what `make bench` measures.
//
// Only the host calls a signed-in request makes are implemented; any other call is counted and
// answers "not found", and the counts are printed, so a loop that takes another path shows it.

import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [wasmPath, cookieFile, iterationsArg, configPath] = process.argv.slice(2);
if (!wasmPath || !cookieFile) {
  console.error("usage: wasm-loop.mjs <filter.wasm> <cookie-header-file> [iterations] [config.json]");
  process.exit(2);
}
const iterations = Number(iterationsArg ?? 20000);
const cookie = readFileSync(cookieFile, "utf8").trim();
// Row 3's configuration (the bench's cookie secret: 32 bytes of 0x07).
const pluginConfig = configPath
  ? readFileSync(configPath)
  : Buffer.from(
      JSON.stringify({
        provider: "entra-id",
        oidc_issuer_url: "http://127.0.0.1:40141/11111111-1111-1111-1111-111111111111/v2.0",
        client_id: "22222222-2222-2222-2222-222222222222",
        client_secret: "test-client-secret",
        clusters: { "127.0.0.1:40141": "entra" },
        cookie_secret: Buffer.alloc(32, 7).toString("base64"),
        cookie_secure: false,
        email_domains: ["*"],
        entra_id_graph_url: "http://127.0.0.1:40141",
        pass_authorization_header: true,
        skip_provider_button: true,
      }),
    );
const requestHeaders = [
  [":authority", "127.0.0.1:40000"],
  [":path", "/bench"],
  [":method", "GET"],
  [":scheme", "http"],
  ["cookie", cookie],
  ["x-forwarded-proto", "http"],
  ["x-request-id", "6f1c0c52-7a43-4a8e-9a39-4d1c6f0e2d11"],
];
const responseHeaders = [
  [":status", "200"],
  ["content-length", "3"],
  ["content-type", "text/plain"],
];

const OK = 0;
const NOT_FOUND = 1;
const MAP = { 0: "request", 2: "response" };
const PLUGIN_CONFIGURATION = 7;
const VM_CONFIGURATION = 6;

let exports;
const maps = { request: new Map(requestHeaders), response: new Map(responseHeaders) };
const encodedMaps = {};
/// Only the first request's changes are applied (and printed); the loop just counts bytes.
let recording = true;
const shared = new Map();
const unknown = new Map();
let responded = 0;
let forwardedBytes = 0;

const enc = new TextEncoder();
const dec = new TextDecoder();
const mem = () => new DataView(exports.memory.buffer);
const bytes = () => new Uint8Array(exports.memory.buffer);
const str = (ptr, len) => dec.decode(bytes().subarray(ptr, ptr + len));

/// Copy `data` into a fresh allocation of the module and store pointer and size where asked.
function give(data, retPtr, retSize) {
  const ptr = exports.proxy_on_memory_allocate(data.length);
  bytes().set(data, ptr);
  mem().setUint32(retPtr, ptr, true);
  mem().setUint32(retSize, data.length, true);
  return OK;
}

/// proxy-wasm's map encoding: count, then (key length, value length) pairs, then the
/// NUL-terminated keys and values.
function encodeMap(map) {
  const pairs = [...map].map(([k, v]) => [enc.encode(k), enc.encode(v)]);
  let size = 4 + pairs.length * 8;
  for (const [k, v] of pairs) size += k.length + v.length + 2;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, pairs.length, true);
  let at = 4;
  for (const [k, v] of pairs) {
    view.setUint32(at, k.length, true);
    view.setUint32(at + 4, v.length, true);
    at += 8;
  }
  for (const [k, v] of pairs) {
    out.set(k, at);
    at += k.length + 1;
    out.set(v, at);
    at += v.length + 1;
  }
  return out;
}

const env = {
  proxy_log: (level, ptr, len) => {
    if (level >= 3) console.error(`wasm-loop: filter log: ${str(ptr, len)}`);
    return OK;
  },
  proxy_get_log_level: (ret) => (mem().setUint32(ret, 2, true), OK),
  proxy_get_current_time_nanoseconds: (ret) => {
    mem().setBigUint64(ret, BigInt(Date.now()) * 1000000n, true);
    return OK;
  },
  proxy_set_tick_period_milliseconds: () => OK,
  proxy_define_metric: (_type, _name, _len, ret) => {
    env.nextMetric = (env.nextMetric ?? 0) + 1;
    mem().setUint32(ret, env.nextMetric, true);
    return OK;
  },
  proxy_increment_metric: () => OK,
  proxy_get_buffer_bytes: (type, start, max, retPtr, retSize) => {
    const data = type === PLUGIN_CONFIGURATION ? pluginConfig : type === VM_CONFIGURATION ? Buffer.alloc(0) : null;
    if (!data) return NOT_FOUND;
    // i32 arguments arrive signed: usize::MAX ("everything") is -1 here.
    return give(data.subarray(start >>> 0, (start >>> 0) + (max >>> 0)), retPtr, retSize);
  },
  proxy_get_header_map_pairs: (type, retPtr, retSize) => {
    // The loop's maps are the same every request: encode them once, so the harness's own
    // work stays small next to the filter's.
    const name = MAP[type];
    if (!name) return NOT_FOUND;
    const encoded = (encodedMaps[name] ??= encodeMap(maps[name]));
    return give(encoded, retPtr, retSize);
  },
  proxy_get_header_map_value: (type, keyPtr, keyLen, retPtr, retSize) => {
    const value = maps[MAP[type]]?.get(str(keyPtr, keyLen));
    return value === undefined ? NOT_FOUND : give(enc.encode(value), retPtr, retSize);
  },
  proxy_replace_header_map_value: (type, keyPtr, keyLen, valPtr, valLen) => {
    forwardedBytes += keyLen + valLen;
    if (recording) maps[MAP[type]]?.set(str(keyPtr, keyLen), str(valPtr, valLen));
    return OK;
  },
  proxy_add_header_map_value: (type, keyPtr, keyLen, valPtr, valLen) => {
    if (recording) maps[MAP[type]]?.set(str(keyPtr, keyLen), str(valPtr, valLen));
    return OK;
  },
  proxy_remove_header_map_value: (type, keyPtr, keyLen) => {
    if (recording) maps[MAP[type]]?.delete(str(keyPtr, keyLen));
    return OK;
  },
  proxy_get_shared_data: (keyPtr, keyLen, retPtr, retSize, retCas) => {
    const entry = shared.get(str(keyPtr, keyLen));
    if (!entry) return NOT_FOUND;
    mem().setUint32(retCas, entry.cas, true);
    return give(entry.value, retPtr, retSize);
  },
  proxy_set_shared_data: (keyPtr, keyLen, valPtr, valLen, cas) => {
    const key = str(keyPtr, keyLen);
    const entry = shared.get(key);
    if (cas !== 0 && entry && entry.cas !== cas) return 7; // CasMismatch
    shared.set(key, { value: bytes().slice(valPtr, valPtr + valLen), cas: (entry?.cas ?? 0) + 1 });
    return OK;
  },
  proxy_send_local_response: () => (responded++, OK),
};
const envProxy = new Proxy(env, {
  get(target, name) {
    if (name in target) return target[name];
    return () => (unknown.set(name, (unknown.get(name) ?? 0) + 1), NOT_FOUND);
  },
});

function load(path) {
  const wasi = new WASI({ version: "preview1", returnOnExit: true });
  const module = new WebAssembly.Module(readFileSync(path));
  const imports = { wasi_snapshot_preview1: wasi.wasiImport, env: {} };
  for (const { module: m, name } of WebAssembly.Module.imports(module)) {
    if (m === "env") imports.env[name] = envProxy[name];
  }
  const instance = new WebAssembly.Instance(module, imports);
  exports = instance.exports;
  wasi.initialize(instance);
  exports.proxy_on_context_create(1, 0);
  exports.proxy_on_vm_start(1, 0);
  if (!exports.proxy_on_configure(1, pluginConfig.length)) {
    console.error("wasm-loop: the filter refused its configuration; unanswered host calls:", Object.fromEntries(unknown));
    process.exit(1);
  }
}

function request(id) {
  exports.proxy_on_context_create(id, 1);
  const action = exports.proxy_on_request_headers(id, requestHeaders.length, 1);
  exports.proxy_on_response_headers(id, responseHeaders.length, 1);
  exports.proxy_on_log(id);
  exports.proxy_on_done(id);
  exports.proxy_on_delete(id);
  return action;
}

load(wasmPath);
const first = request(2);
if (first !== 0 || responded) {
  console.error(`wasm-loop: the first request was not forwarded (action ${first}, ${responded} local replies)`);
  process.exit(1);
}
console.error(`wasm-loop: forwarded with ${[...maps.request.keys()].join(", ")}`);
recording = false;
for (let i = 0; i < Math.min(2000, iterations); i++) request(10 + i); // let V8 tier up
forwardedBytes = 0;
const started = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) request(100000 + i);
const micros = Number(process.hrtime.bigint() - started) / 1000 / iterations;
if (unknown.size) console.error("wasm-loop: host calls answered not-found:", Object.fromEntries(unknown));
console.log(
  `${path(wasmPath)}: ${micros.toFixed(2)} us per request over ${iterations} (${cookie.length} cookie bytes, ` +
    `${Math.round(forwardedBytes / iterations)} header bytes set per request)`,
);

function path(p) {
  return p.split("/").pop();
}
