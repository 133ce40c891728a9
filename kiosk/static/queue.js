// The outbox: responses saved on the tablet, sent one at a time until the server confirms each.
// Save first, send later (Enketo's rule): a record leaves the queue only after a 2xx whose body
// confirms that this very record is stored. A rejection that will never succeed is kept and shown
// to staff; everything else is retried with capped exponential backoff and jitter.
// No DOM and no IndexedDB here, so Node's test runner can drive it (kiosk/tests/).

export const STORED = 'stored';
export const RETRY = 'retry';
export const REJECTED = 'rejected';
export const UNAUTHORISED = 'unauthorised';

/** What an upload's answer means for the record. `status` 0 is a network failure. */
export function classify(status, body, id) {
  if (status >= 200 && status < 300) {
    // A captive portal or a proxy can answer 200 with its own page: only our confirmation counts.
    return body && body.status === 'stored' && body.id === id ? STORED : RETRY;
  }
  if (status === 401 || status === 403) return UNAUTHORISED;
  // Timeouts, rate limits, a server being deployed (404 from a half-started proxy), 5xx: transient.
  if (status === 0 || status === 404 || status === 408 || status === 425 || status === 429) return RETRY;
  if (status >= 500) return RETRY;
  if (status >= 400) return REJECTED; // 400, 409, 413, 415, 422: sending it again cannot help
  return RETRY;
}

/** Delay before retry number `failures` (1, 2, …): exponential, capped, with "equal jitter"
 * (between half and all of the ceiling) so a desk's tablets do not all retry at once. */
export function backoffDelay(failures, { baseMs = 2000, capMs = 300000, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(failures, 1) - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The fields the server stores: the rest of a record is the queue's own bookkeeping. */
export function payloadOf(record) {
  const { id, desk, questionnaire, version, answers, language, started_at, answered_at } = record;
  return { id, desk, questionnaire, version, answers, language, started_at, answered_at };
}

export class Outbox {
  /**
   * @param {object} o
   * @param {object} o.store  add(record), next() → oldest pending or null, remove(id),
   *                          reject(id, rejection), requeue(statuses) → count, counts() → {pending, rejected}
   * @param {function} o.send async (record) → {status, body}; throws on a network failure
   */
  constructor({
    store,
    send,
    now = Date.now,
    random = Math.random,
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (handle) => clearTimeout(handle),
    lock = (fn) => fn(),
    baseMs = 2000,
    capMs = 300000,
    onChange = () => {},
    onUnauthorised = () => {},
  }) {
    Object.assign(this, { store, send, now, random, setTimer, clearTimer, lock, baseMs, capMs });
    this.onChange = onChange;
    this.onUnauthorised = onUnauthorised;
    this.failures = 0;
    this.nextAttemptAt = 0;
    this.timer = null;
    this.running = null;
    this.blocked = false;
    this.lastSyncAt = null;
    this.lastError = null;
  }

  /** Save a new response (durably, before any network call), then try to send. */
  async add(response) {
    await this.store.add({
      ...response,
      state: 'pending',
      queued_at: this.now(),
      rejection: null,
    });
    this.onChange();
    this.drain();
  }

  /**
   * Send what waits, oldest first, one at a time. Calls while a drain runs share it. Without
   * `force`, a drain waits out the current backoff (a timer will come back); `force` (the
   * network came back, staff asked) tries now.
   */
  drain({ force = false } = {}) {
    if (this.running) return this.running;
    if (this.blocked) return Promise.resolve();
    if (!force && this.now() < this.nextAttemptAt) return Promise.resolve();
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    this.running = Promise.resolve()
      .then(() => this.lock(() => this._drainLoop()))
      .catch((error) => {
        // The local store failed (quota, a closed database): nothing was lost, try again later.
        this.lastError = String(error && error.message ? error.message : error);
        this._scheduleRetry(0);
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async _drainLoop() {
    for (;;) {
      if (this.blocked) return;
      const record = await this.store.next();
      if (!record) return;
      let status = 0;
      let body = null;
      try {
        ({ status, body } = await this.send(record));
      } catch (error) {
        status = 0;
        this.lastError = String(error && error.message ? error.message : error);
      }
      const outcome = classify(status, body, record.id);
      if (outcome === STORED) {
        await this.store.remove(record.id);
        this.failures = 0;
        this.nextAttemptAt = 0;
        this.lastSyncAt = this.now();
        this.lastError = null;
        this.onChange();
        continue;
      }
      if (outcome === REJECTED || outcome === UNAUTHORISED) {
        await this.store.reject(record.id, {
          status,
          error: body && typeof body.error === 'string' ? body.error : null,
          message: body && typeof body.message === 'string' ? body.message : null,
          at: this.now(),
        });
        if (outcome === UNAUTHORISED) {
          // The device itself is refused (revoked, unknown token): stop sending anything until
          // it is enrolled again; then unblock() puts these records back in the queue.
          this.blocked = true;
          this.onChange();
          this.onUnauthorised(status, body);
          return;
        }
        this.onChange();
        continue;
      }
      this._scheduleRetry(status);
      return;
    }
  }

  _scheduleRetry(status) {
    this.failures += 1;
    if (status) this.lastError = `HTTP ${status}`;
    const delay = backoffDelay(this.failures, { baseMs: this.baseMs, capMs: this.capMs, random: this.random });
    this.nextAttemptAt = this.now() + delay;
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.drain();
    }, delay);
    this.onChange();
  }

  /** After a new enrolment: records refused because of the device go back in the queue. */
  async unblock() {
    this.blocked = false;
    this.failures = 0;
    this.nextAttemptAt = 0;
    const count = await this.store.requeue([401, 403]);
    this.onChange();
    await this.drain({ force: true });
    return count;
  }

  /** What the status line shows: counts and times, never answers. */
  async status() {
    const { pending, rejected } = await this.store.counts();
    return {
      pending,
      rejected,
      lastSyncAt: this.lastSyncAt,
      failures: this.failures,
      nextAttemptAt: this.nextAttemptAt,
      blocked: this.blocked,
      lastError: this.lastError,
    };
  }
}

/** An in-memory store with the IndexedDB store's interface (tests, and a fallback). */
export class MemoryStore {
  constructor(records = []) {
    this.records = new Map(records.map((r) => [r.id, { ...r }]));
  }
  async add(record) {
    if (this.records.has(record.id)) throw new Error(`record ${record.id} exists`);
    this.records.set(record.id, { ...record });
  }
  async next() {
    let oldest = null;
    for (const r of this.records.values()) {
      if (r.state === 'pending' && (!oldest || r.queued_at < oldest.queued_at)) oldest = r;
    }
    return oldest ? { ...oldest } : null;
  }
  async remove(id) {
    this.records.delete(id);
  }
  async reject(id, rejection) {
    const r = this.records.get(id);
    if (r) Object.assign(r, { state: 'rejected', rejection });
  }
  async requeue(statuses) {
    let count = 0;
    for (const r of this.records.values()) {
      if (r.state === 'rejected' && r.rejection && statuses.includes(r.rejection.status)) {
        Object.assign(r, { state: 'pending', rejection: null });
        count += 1;
      }
    }
    return count;
  }
  async counts() {
    let pending = 0;
    let rejected = 0;
    for (const r of this.records.values()) {
      if (r.state === 'pending') pending += 1;
      else rejected += 1;
    }
    return { pending, rejected };
  }
}
