// The outbox's rules, with a fake clock, fake timers and a fake server (node --test).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MemoryStore, Outbox, backoffDelay, classify, payloadOf } from '../static/queue.js';

const STORED_BODY = (id) => ({ status: 'stored', id, received_at: '2026-01-01T00:00:00Z' });

function response(n) {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    desk: 'DH01',
    questionnaire: 'sipas-kiosk',
    version: 1,
    answers: { HL: 5 },
    language: 'vi',
    started_at: '2026-01-01T00:00:00Z',
    answered_at: '2026-01-01T00:00:20Z',
  };
}

/** An outbox on a memory store, a clock that moves only when told, and timers we fire by hand. */
function harness(server, options = {}) {
  const store = options.store || new MemoryStore();
  const clock = { now: 1_000_000 };
  const timers = [];
  const sent = [];
  const outbox = new Outbox({
    store,
    send: async (record) => {
      sent.push(record.id);
      return server(record, sent.length);
    },
    now: () => clock.now,
    random: () => 0.5,
    setTimer: (fn, ms) => {
      const timer = { fn, ms, at: clock.now + ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => {
      timer.cleared = true;
    },
    baseMs: 1000,
    capMs: 8000,
    ...options,
  });
  const fireTimers = async () => {
    const due = timers.filter((t) => !t.cleared && !t.fired);
    for (const timer of due) {
      clock.now = Math.max(clock.now, timer.at);
      timer.fired = true;
      await timer.fn();
    }
    await outbox.running;
  };
  return { store, clock, timers, sent, outbox, fireTimers };
}

describe('classify', () => {
  it('counts only our confirmation of this very record as stored', () => {
    assert.equal(classify(200, STORED_BODY('a'), 'a'), 'stored');
    assert.equal(classify(200, STORED_BODY('b'), 'a'), 'retry');
    assert.equal(classify(200, null, 'a'), 'retry'); // a captive portal's page
    assert.equal(classify(204, null, 'a'), 'retry');
  });
  it('keeps trying on network failures, timeouts, rate limits and server errors', () => {
    for (const status of [0, 404, 408, 429, 500, 502, 503, 504]) assert.equal(classify(status, null, 'a'), 'retry');
  });
  it('gives up for good on what cannot succeed, and on the device being refused', () => {
    for (const status of [400, 409, 413, 415, 422]) assert.equal(classify(status, {}, 'a'), 'rejected');
    for (const status of [401, 403]) assert.equal(classify(status, {}, 'a'), 'unauthorised');
  });
});

describe('backoffDelay', () => {
  it('doubles from the base up to the cap', () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { baseMs: 1000, capMs: 8000, random: () => 1 }));
    assert.deepEqual(ceilings, [1000, 2000, 4000, 8000, 8000, 8000]);
  });
  it('jitters between half and all of the ceiling, never above the cap', () => {
    assert.equal(backoffDelay(3, { baseMs: 1000, capMs: 8000, random: () => 0 }), 2000);
    for (let i = 0; i < 200; i += 1) {
      const delay = backoffDelay(40, { baseMs: 1000, capMs: 8000 });
      assert.ok(delay >= 4000 && delay <= 8000, `delay ${delay}`);
    }
  });
});

describe('Outbox', () => {
  it('saves before sending, and deletes only what the server confirmed', async () => {
    const order = [];
    const store = new MemoryStore();
    const add = store.add.bind(store);
    store.add = async (record) => {
      order.push('saved');
      await add(record);
    };
    const h = harness(
      async (record) => {
        order.push('sent');
        return { status: 200, body: STORED_BODY(record.id) };
      },
      { store },
    );
    await h.outbox.add(response(1));
    await h.outbox.running;
    assert.deepEqual(order, ['saved', 'sent']);
    assert.deepEqual(await store.counts(), { pending: 0, rejected: 0 });
    assert.equal(h.outbox.lastSyncAt, h.clock.now);
  });

  it('sends oldest first, one at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const h = harness(async (record) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
      return { status: 200, body: STORED_BODY(record.id) };
    });
    for (let n = 1; n <= 5; n += 1) {
      h.clock.now += 1;
      await h.store.add({ ...response(n), state: 'pending', queued_at: h.clock.now, rejection: null });
    }
    await Promise.all([h.outbox.drain(), h.outbox.drain(), h.outbox.drain({ force: true })]);
    assert.equal(most, 1);
    assert.deepEqual(h.sent, [1, 2, 3, 4, 5].map((n) => response(n).id));
    assert.equal((await h.store.counts()).pending, 0);
  });

  it('backs off exponentially with a cap while the server is down, then drains', async () => {
    let up = false;
    const h = harness(async (record) => (up ? { status: 200, body: STORED_BODY(record.id) } : { status: 503, body: null }));
    await h.outbox.add(response(1));
    await h.outbox.running;
    const delays = [];
    for (let i = 0; i < 5; i += 1) {
      delays.push(h.timers.at(-1).ms);
      await h.fireTimers();
    }
    // random() = 0.5: three quarters of 1, 2, 4, 8, 8 s (the cap).
    assert.deepEqual(delays, [750, 1500, 3000, 6000, 6000]);
    assert.equal(h.sent.length, 6);
    assert.deepEqual(await h.store.counts(), { pending: 1, rejected: 0 }); // still kept
    // A drain before the backoff is over waits; the network coming back (force) does not.
    await h.outbox.drain();
    assert.equal(h.sent.length, 6);
    up = true;
    await h.outbox.drain({ force: true });
    assert.deepEqual(await h.store.counts(), { pending: 0, rejected: 0 });
    assert.equal(h.outbox.failures, 0);
  });

  it('treats a thrown network error as "try later" and keeps the record', async () => {
    const h = harness(async () => {
      throw new TypeError('Failed to fetch');
    });
    await h.outbox.add(response(1));
    await h.outbox.running;
    assert.deepEqual(await h.store.counts(), { pending: 1, rejected: 0 });
    assert.equal(h.outbox.lastError, 'Failed to fetch');
    assert.equal(h.outbox.failures, 1);
  });

  it('keeps a permanently rejected record, marked with why, and goes on with the next', async () => {
    const h = harness(async (record) =>
      record.id === response(1).id
        ? { status: 422, body: { error: 'invalid_answers', message: 'the answers do not fit' } }
        : { status: 200, body: STORED_BODY(record.id) },
    );
    await h.store.add({ ...response(1), state: 'pending', queued_at: 1, rejection: null });
    await h.store.add({ ...response(2), state: 'pending', queued_at: 2, rejection: null });
    await h.outbox.drain();
    assert.deepEqual(await h.store.counts(), { pending: 0, rejected: 1 });
    const kept = h.store.records.get(response(1).id);
    assert.equal(kept.state, 'rejected');
    assert.equal(kept.rejection.status, 422);
    assert.equal(kept.rejection.error, 'invalid_answers');
    assert.deepEqual(kept.answers, { HL: 5 }); // the response itself is intact
    // It is never sent again on its own.
    await h.outbox.drain({ force: true });
    assert.equal(h.sent.filter((id) => id === response(1).id).length, 1);
  });

  it('keeps a conflicting record (409) too', async () => {
    const h = harness(async () => ({ status: 409, body: { error: 'conflict' } }));
    await h.outbox.add(response(1));
    await h.outbox.running;
    assert.deepEqual(await h.store.counts(), { pending: 0, rejected: 1 });
  });

  it('stops on a revoked device, keeps everything, and resumes after re-enrolment', async () => {
    let revoked = true;
    const refusals = [];
    const h = harness(
      async (record) => (revoked ? { status: 403, body: { error: 'device_revoked' } } : { status: 200, body: STORED_BODY(record.id) }),
      { onUnauthorised: (status, body) => refusals.push([status, body.error]) },
    );
    for (let n = 1; n <= 3; n += 1) await h.store.add({ ...response(n), state: 'pending', queued_at: n, rejection: null });
    await h.outbox.drain();
    assert.deepEqual(refusals, [[403, 'device_revoked']]);
    assert.equal(h.sent.length, 1); // the others are not even tried
    assert.deepEqual(await h.store.counts(), { pending: 2, rejected: 1 });
    assert.equal(h.outbox.blocked, true);
    await h.outbox.drain({ force: true });
    assert.equal(h.sent.length, 1);

    revoked = false;
    assert.equal(await h.outbox.unblock(), 1);
    assert.deepEqual(await h.store.counts(), { pending: 0, rejected: 0 });
    assert.equal(new Set(h.sent).size, 3);
  });

  it('re-enrolment does not resend records the server refused for their content', async () => {
    const h = harness(async () => ({ status: 422, body: { error: 'invalid_answers' } }));
    await h.outbox.add(response(1));
    await h.outbox.running;
    assert.equal(await h.outbox.unblock(), 0);
    assert.deepEqual(await h.store.counts(), { pending: 0, rejected: 1 });
  });

  it('retries later when the local store fails, losing nothing', async () => {
    const h = harness(async (record) => ({ status: 200, body: STORED_BODY(record.id) }));
    await h.store.add({ ...response(1), state: 'pending', queued_at: 1, rejection: null });
    const remove = h.store.remove.bind(h.store);
    h.store.remove = async () => {
      throw new Error('QuotaExceededError');
    };
    await h.outbox.drain();
    assert.equal(h.outbox.lastError, 'QuotaExceededError');
    assert.equal((await h.store.counts()).pending, 1);
    h.store.remove = remove;
    await h.fireTimers();
    assert.equal((await h.store.counts()).pending, 0);
    assert.equal(h.sent.length, 2); // the same record again: the server answers a replay as before
  });

  it('sends exactly the response fields, none of its bookkeeping', () => {
    const record = { ...response(1), state: 'rejected', queued_at: 5, rejection: { status: 409 } };
    assert.deepEqual(Object.keys(payloadOf(record)).sort(), [
      'answered_at', 'answers', 'desk', 'id', 'language', 'questionnaire', 'started_at', 'version',
    ]);
  });
});
