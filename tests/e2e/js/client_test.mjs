// A Dossier client in JavaScript, knowing nothing but what `$SRV.INFO` says.
//
// Run by tests/e2e/test_js_client.py against the real services. It discovers the
// services, builds a registration FROM the endpoint's request schema, submits it
// (twice, with one idempotency key), submits a malformed one, and prints one JSON
// summary line (the last line of stdout). Any failed check exits non-zero.
//
// Environment:
//   NATS_URL          the nats-server (nats://127.0.0.1:4222)
//   NATS_USER         the NATS user to sign in as (staff), with NATS_PASSWORD; replies come
//                     on its own inbox prefix, _INBOX_<user>, the only one it may read
//   NATS_PASSWORD
//   DOSSIER_TOKEN     an actor token (a front desk of DOSSIER_BRANCH)
//   DOSSIER_BRANCH    the branch the token may act in (SH01)
//   DOSSIER_SERVICE   the service to call (dossier-intake)
//   DOSSIER_ENDPOINT  the endpoint to call (registration-submit)
//   DISCOVERY_MS      how long to collect `$SRV.INFO` replies (1000)

import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { connect, createInbox, Empty, headers as natsHeaders, JSONCodec } from "nats";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") {
    throw new Error(`environment variable ${name} is not set`);
  }
  return value;
};

const NATS_URL = env("NATS_URL");
const NATS_USER = env("NATS_USER");
const NATS_PASSWORD = env("NATS_PASSWORD");
const INBOX_PREFIX = `_INBOX_${NATS_USER}`;
const TOKEN = env("DOSSIER_TOKEN");
const BRANCH = env("DOSSIER_BRANCH", "SH01");
const SERVICE = env("DOSSIER_SERVICE", "dossier-intake");
const ENDPOINT = env("DOSSIER_ENDPOINT", "registration-submit");
const DISCOVERY_MS = Number(env("DISCOVERY_MS", "1000"));
const REQUEST_TIMEOUT_MS = 10_000;

// The header names of dossier.messaging.headers and nats.micro.
const ACTOR = "Dossier-Actor";
const IDEMPOTENCY_KEY = "Idempotency-Key";
const REQUEST_ID = "Dossier-Request-Id";
const LOCALE = "Accept-Language";
const ERROR_CODE = "Nats-Service-Error-Code";
const ERROR = "Nats-Service-Error";

// The error body of dossier.messaging.replies, as a schema of our own: the services do
// not publish it, so this is what a client in another language would have to write.
const ERROR_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["error"],
  additionalProperties: false,
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "request_id", "problems"],
      additionalProperties: false,
      properties: {
        code: { type: "string", pattern: "^[a-z_]+$" },
        message: { type: "string" },
        request_id: { type: "string", minLength: 1 },
        problems: {
          type: "array",
          items: {
            type: "object",
            required: ["field", "rule", "message"],
            additionalProperties: false,
            properties: {
              field: { type: "string" },
              rule: { type: "string", pattern: "^[a-z_]+$" },
              message: { type: "string" },
            },
          },
        },
      },
    },
  },
};

// Example values for the fields the branch's rules check (a name, a phone number, an ID
// number), keyed by property name. A function gets the object being built (its earlier
// properties are set), so an ID number can follow the document type chosen before it.
const PRC_RESIDENT_ID = "110105200001020011"; // born 2000-01-02 (the default date), MOD 11-2 check
const EXAMPLES = {
  branch: BRANCH,
  name: "王小明",
  phone: "+86 138 0013 8000",
  number: (sibling) => (sibling.type === "prc_resident_id" ? PRC_RESIDENT_ID : "E12345678"),
};
const DEFAULT_DATE = "2000-01-02";

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  return ok;
};

// -- discovery ---------------------------------------------------------------------------

/** Every `$SRV.INFO` reply that arrives within `ms`: each instance of each service answers. */
async function discover(nc, ms) {
  const inbox = createInbox(INBOX_PREFIX);
  const sub = nc.subscribe(inbox);
  const infos = [];
  const collecting = (async () => {
    for await (const msg of sub) {
      if (msg.data.length === 0) continue; // a status message (no responders) has no body
      infos.push(JSON.parse(new TextDecoder().decode(msg.data)));
    }
  })();
  nc.publish("$SRV.INFO", Empty, { reply: inbox });
  await new Promise((resolve) => setTimeout(resolve, ms));
  sub.unsubscribe();
  await collecting;
  return infos;
}

// -- a body from a JSON Schema -----------------------------------------------------------

/** The schema `#/$defs/...` (any local JSON pointer) points at. */
function resolve(root, ref) {
  if (!ref.startsWith("#")) throw new Error(`only local $ref are supported: ${ref}`);
  return ref
    .slice(1)
    .split("/")
    .filter(Boolean)
    .map((part) => decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((node, part) => {
      if (node === undefined || !(part in node)) throw new Error(`unresolvable $ref ${ref}`);
      return node[part];
    }, root);
}

const isNull = (schema) => schema.type === "null";

/** A valid instance of `schema`: required properties only, examples by property name. */
function build(root, schema, name = null, parent = {}, depth = 0) {
  if (depth > 32) throw new Error("schema too deep (a recursive $ref without a way out?)");
  if (name !== null && Object.hasOwn(EXAMPLES, name)) {
    const example = EXAMPLES[name];
    return typeof example === "function" ? example(parent) : example;
  }
  if (schema.$ref) return build(root, resolve(root, schema.$ref), name, parent, depth + 1);
  if (Object.hasOwn(schema, "const")) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  for (const keyword of ["anyOf", "oneOf"]) {
    if (Array.isArray(schema[keyword])) {
      const choice = schema[keyword].find((option) => !isNull(option)) ?? schema[keyword][0];
      return build(root, choice, name, parent, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf)) {
    // Good enough for the schemas here: merge object parts, build the merged schema.
    return build(root, Object.assign({}, ...schema.allOf), name, parent, depth + 1);
  }
  if (schema.default !== undefined) return schema.default;
  const type = Array.isArray(schema.type)
    ? (schema.type.find((t) => t !== "null") ?? "null")
    : schema.type;
  switch (type) {
    case "object": {
      const body = {};
      const properties = schema.properties ?? {};
      for (const key of Object.keys(properties)) {
        if (schema.required?.includes(key)) {
          body[key] = build(root, properties[key], key, body, depth + 1);
        }
      }
      for (const key of schema.required ?? []) {
        if (!(key in body)) throw new Error(`required ${key} has no schema`);
      }
      return body;
    }
    case "array": {
      const items = schema.items ?? {};
      return Array.from({ length: schema.minItems ?? 0 }, () =>
        build(root, items, null, parent, depth + 1),
      );
    }
    case "string":
      if (schema.format === "date") return DEFAULT_DATE;
      if (schema.format === "date-time") return `${DEFAULT_DATE}T09:30:00Z`;
      if (schema.format === "email") return "someone@example.cn";
      return "example".padEnd(schema.minLength ?? 0, "x");
    case "integer":
      return Math.ceil(schema.minimum ?? 0);
    case "number":
      return schema.minimum ?? 0;
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      throw new Error(`cannot build a value for ${name ?? "(root)"}: ${JSON.stringify(schema)}`);
  }
}

// -- requests ----------------------------------------------------------------------------

const jc = JSONCodec();

function requestHeaders(key) {
  const h = natsHeaders();
  h.set(ACTOR, TOKEN);
  h.set(IDEMPOTENCY_KEY, key);
  h.set(REQUEST_ID, randomUUID());
  h.set(LOCALE, "en");
  return h;
}

async function call(nc, subject, body, key) {
  const msg = await nc.request(subject, jc.encode(body), {
    timeout: REQUEST_TIMEOUT_MS,
    headers: requestHeaders(key),
  });
  return {
    errorCode: msg.headers?.get(ERROR_CODE) || null,
    error: msg.headers?.get(ERROR) || null,
    requestId: msg.headers?.get(REQUEST_ID) || null,
    body: msg.data.length ? jc.decode(msg.data) : null,
  };
}

const idempotencyKey = () => randomUUID().replaceAll("-", "");

// -- the scenario ------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const nc = await connect({
    servers: NATS_URL,
    name: "dossier-js-client-test",
    user: NATS_USER,
    pass: NATS_PASSWORD,
    inboxPrefix: INBOX_PREFIX,
  });
  try {
    const infos = await discover(nc, DISCOVERY_MS);
    const services = [...new Set(infos.map((info) => info.name))].sort();
    check(infos.length > 0, "no service answered $SRV.INFO");
    for (const info of infos) {
      check(info.type === "io.nats.micro.v1.info_response", `${info.name}: type ${info.type}`);
      check(Boolean(info.metadata?.version), `${info.name}: no version in its metadata`);
      for (const endpoint of info.endpoints ?? []) {
        check(
          Boolean(endpoint.metadata?.operation),
          `${info.name} ${endpoint.name}: no operation in its metadata`,
        );
      }
    }
    const info = infos.find((candidate) => candidate.name === SERVICE);
    if (!info) throw new Error(`${SERVICE} not discovered (found: ${services.join(", ")})`);
    const endpoint = (info.endpoints ?? []).find((candidate) => candidate.name === ENDPOINT);
    if (!endpoint) throw new Error(`${SERVICE} has no endpoint ${ENDPOINT}`);
    const meta = endpoint.metadata;
    const requestSchema = JSON.parse(meta.request_schema);
    const responseSchema = JSON.parse(meta.response_schema);

    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(ajv);
    const validRequest = ajv.compile(requestSchema);
    const validResponse = ajv.compile(responseSchema);
    const validError = ajv.compile(ERROR_SCHEMA);

    const body = build(requestSchema, requestSchema);
    if (!validRequest(body)) {
      throw new Error(`the built body fails its schema: ${ajv.errorsText(validRequest.errors)}`);
    }
    const size = Buffer.byteLength(JSON.stringify(body));
    check(size <= Number(meta.max_bytes), `body of ${size} bytes over max_bytes ${meta.max_bytes}`);

    // 1. A valid registration: a receipt.
    const key = idempotencyKey();
    const first = await call(nc, endpoint.subject, body, key);
    check(first.errorCode === null, `submit answered error ${first.errorCode}: ${JSON.stringify(first.body)}`);
    check(validResponse(first.body), `receipt fails response_schema: ${ajv.errorsText(validResponse.errors)}`);
    check(first.body?.branch === BRANCH, `receipt branch ${first.body?.branch}`);

    // 2. The same body with the same key: the same receipt, not a second registration.
    const again = await call(nc, endpoint.subject, body, key);
    check(again.errorCode === null, `replay answered error ${again.errorCode}`);
    const replayed = isDeepStrictEqual(again.body, first.body);
    check(replayed, `replay answered ${JSON.stringify(again.body)}, not ${JSON.stringify(first.body)}`);

    // 3. A malformed body: no applicant, a key the schema does not know.
    const { applicant: _dropped, ...rest } = body;
    const bad = { ...rest, nickname: "小明" };
    check(!validRequest(bad), "the malformed body passes the request schema");
    const schemaSays = (validRequest.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
    const refused = await call(nc, endpoint.subject, bad, idempotencyKey());
    check(refused.errorCode === "400", `malformed body answered error code ${refused.errorCode}`);
    check(refused.error === "validation_failed", `malformed body answered ${refused.error}`);
    check(validError(refused.body), `error body fails the error schema: ${ajv.errorsText(validError.errors)}`);
    check(refused.body?.error?.code === "validation_failed", `error code ${refused.body?.error?.code}`);
    const problems = refused.body?.error?.problems ?? [];
    const fields = problems.map((problem) => problem.field);
    check(fields.includes("applicant"), `no problem names applicant: ${JSON.stringify(problems)}`);
    check(fields.includes("nickname"), `no problem names nickname: ${JSON.stringify(problems)}`);
    check(
      refused.body?.error?.request_id === refused.requestId,
      "the error's request_id differs from the reply header",
    );

    const summary = {
      ok: failures.length === 0,
      failures,
      services,
      instances: infos.length,
      service: { name: info.name, version: info.metadata?.version, endpoints: info.endpoints.length },
      endpoint: {
        name: endpoint.name,
        subject: endpoint.subject,
        operation: meta.operation,
        changes: meta.changes,
        max_bytes: Number(meta.max_bytes),
      },
      built: body,
      receipt: first.body,
      replayed,
      refused: {
        code: refused.errorCode,
        error: refused.body?.error?.code,
        fields,
        rules: problems.map((problem) => problem.rule),
        schema_says: schemaSays,
      },
      client: { nats: "nats.js", node: process.version },
      elapsed_ms: Date.now() - started,
    };
    console.log(JSON.stringify(summary));
    return failures.length === 0 ? 0 : 1;
  } finally {
    await nc.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error?.stack ?? String(error));
    console.log(JSON.stringify({ ok: false, failures: [...failures, String(error?.message ?? error)] }));
    process.exitCode = 2;
  },
);
