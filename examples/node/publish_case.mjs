#!/usr/bin/env node
// Publish a case's events to tthc the way desk software should, with nats.js (the `nats`
// npm package), then ask tthc for this desk's rejected messages (docs/vendors.md).
//
//   npm ci                       # in examples/node: installs nats from package-lock.json
//   node publish_case.mjs --url tls://nats.example.vn:4222 \
//       --user desk-00004 --password "$DESK_PASSWORD" --commune 00004
//   node publish_case.mjs ... --with-bad-event     # also send a broken event and wait
//                                                  # until tthc reports it rejected
//
// Each event is a JetStream publish with the header Nats-Msg-Id: <event_id> (nats.js:
// the msgID option), and waits for the PubAck. No PubAck in time, or no responders (the
// stream is not there yet): publish again the SAME bytes with the SAME id, after a
// growing pause. JetStream drops a repeat inside its duplicate window and tthc drops a
// repeated event_id forever, so a retry never counts a case twice.
//
// The desk user may publish only on tthc.events.<commune>.> and tthc.rejections.<commune>
// and may receive only on _INBOX_<commune>.>, so the connection uses that inbox prefix.
//
// Output, one line per thing done (the tests read it):
//   published  <event_type> <event_id> -> TTHC_EVENTS seq <n> [duplicate]
//   retry      <event_id> attempt <n> after <error code>        (standard error)
//   rejected   <seq> <reason> <event_id> <subject>: <detail>
//   rejections <count> after_seq <next_after_seq>
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { connect, ErrorCode, JSONCodec } from "nats";

const json = JSONCodec();

/** An RFC 3339 timestamp in Vietnam's business time (UTC+7), e.g. 2025-07-01T08:30:00+07:00. */
export function rfc3339(date) {
  const shifted = new Date(date.getTime() + 7 * 3600 * 1000);
  return shifted.toISOString().slice(0, 19) + "+07:00";
}

/** One event of the contract. The event id is new and unique forever: a real desk keeps it
 * with the event in its own database, so a retry after a crash re-sends the same id. */
export function makeEvent(eventType, communeCode, caseId, occurredAt, fields = {}) {
  return {
    event_id: randomUUID(),
    event_type: eventType,
    case_id: caseId,
    commune_code: communeCode,
    occurred_at: rfc3339(occurredAt),
    ...fields,
  };
}

/** tthc.events.<commune_code>.<event_type>: the tokens equal the payload's fields. */
export function subjectOf(event) {
  return `tthc.events.${event.commune_code}.${event.event_type}`;
}

const RETRYABLE = new Set([ErrorCode.Timeout, ErrorCode.NoResponders]);

/** JetStream publish waiting for the PubAck; on a timeout or no responders, the same
 * bytes and the same Nats-Msg-Id again, up to `attempts` times. */
export async function publishEvent(js, event, { attempts = 8, timeout = 5000, log = console.error } = {}) {
  const data = json.encode(event); // encoded once: a retry sends the very same bytes
  for (let attempt = 1; ; attempt++) {
    try {
      return await js.publish(subjectOf(event), data, { msgID: event.event_id, timeout });
    } catch (err) {
      if (!RETRYABLE.has(err?.code) || attempt >= attempts) throw err;
      log(`retry      ${event.event_id} attempt ${attempt + 1} after ${err.code}`);
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** (attempt - 1), 10000)));
    }
  }
}

/** This desk's rejected messages after `afterSeq`, every page: {rejections, nextAfterSeq}. */
export async function askRejections(nc, commune, afterSeq = 0) {
  const rejections = [];
  for (;;) {
    const reply = await nc.request(
      `tthc.rejections.${commune}`,
      json.encode({ after_seq: afterSeq, limit: 100 }),
      { timeout: 5000 },
    );
    const page = json.decode(reply.data);
    if (page.error) throw new Error(`tthc: ${page.error}: ${page.detail}`);
    rejections.push(...page.rejections);
    afterSeq = page.next_after_seq;
    if (!page.more) return { rejections, nextAfterSeq: afterSeq };
  }
}

/** A birth registration received online, due in 3 days, resolved an hour later. */
export function caseStory(commune, caseId, now) {
  const received = makeEvent("received", commune, caseId, now, {
    channel: "online_full",
    due_at: rfc3339(new Date(now.getTime() + 3 * 86400 * 1000)),
    field: "ho_tich",
    procedure_code: "1.001193",
    actor: "staff-07",
  });
  const resolved = makeEvent("resolved", commune, caseId, new Date(now.getTime() + 3600 * 1000), {
    result_channel: "online",
  });
  return [received, resolved];
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      url: { type: "string", default: process.env.NATS_URL ?? "nats://127.0.0.1:4222" },
      user: { type: "string", default: process.env.NATS_USER },
      password: { type: "string", default: process.env.NATS_PASSWORD },
      commune: { type: "string", default: "00004" },
      case: { type: "string", default: `HS-${randomUUID().slice(0, 10).toUpperCase()}` },
      "after-seq": { type: "string", default: "0" },
      "with-bad-event": { type: "boolean", default: false },
      wait: { type: "string", default: "20" },
    },
  });
  const commune = args.commune;
  const nc = await connect({
    servers: args.url,
    user: args.user,
    pass: args.password,
    inboxPrefix: `_INBOX_${commune}`, // the only subjects this desk user may receive on
    tls: args.url.startsWith("tls://") ? {} : undefined,
    name: `desk-${commune}`,
  });
  try {
    const js = nc.jetstream();
    // Business time in the past: occurred_at may not be ahead of tthc's clock.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 2 * 3600 * 1000);
    const events = caseStory(commune, args.case, now);
    if (args["with-bad-event"]) {
      // A field (lĩnh vực) must be a slug such as ho_tich: this one is rejected (bad_value).
      events.push(makeEvent("paused", commune, args.case, now, { field: "Hộ tịch" }));
    }
    for (const event of events) {
      const ack = await publishEvent(js, event);
      const dup = ack.duplicate ? " duplicate" : "";
      console.log(`published  ${event.event_type} ${event.event_id} -> ${ack.stream} seq ${ack.seq}${dup}`);
    }

    // Rejections are found by intake a moment after the PubAck: ask until the broken
    // event shows (a real desk asks now and then, keeping next_after_seq).
    const bad = args["with-bad-event"] ? events[events.length - 1].event_id : null;
    const deadline = Date.now() + Number(args.wait) * 1000;
    let result;
    for (;;) {
      result = await askRejections(nc, commune, Number(args["after-seq"]));
      if (!bad || result.rejections.some((r) => r.event_id === bad) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const r of result.rejections) {
      console.log(`rejected   ${r.seq} ${r.reason} ${r.event_id} ${r.subject}: ${r.detail}`);
    }
    console.log(`rejections ${result.rejections.length} after_seq ${result.nextAfterSeq}`);
    if (bad && !result.rejections.some((r) => r.event_id === bad)) {
      console.error(`the broken event ${bad} was not reported within ${args.wait}s`);
      process.exitCode = 1;
    }
  } finally {
    await nc.drain();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`publish_case: ${err?.code ?? ""} ${err?.message ?? err}`);
    process.exit(1);
  });
}
