// The tablet's own store (IndexedDB): the outbox of responses waiting to be sent, and settings
// (device token, configuration, clock offset). Every change of layout is a numbered step that
// rewrites records in place: an upgrade never drops a store or a record.

export const DB_NAME = 'sipas-kiosk';
export const DB_VERSION = 2;

const PENDING = IDBKeyRange.bound(['pending', -Infinity], ['pending', Infinity]);
const REJECTED = IDBKeyRange.bound(['rejected', -Infinity], ['rejected', Infinity]);

/** Schema steps: STEPS[n] upgrades version n - 1 to n inside the upgrade transaction. */
export const STEPS = {
  // 1: each queued response kept whole under `body`, with the time it was queued (`created`).
  1(db) {
    db.createObjectStore('outbox', { keyPath: 'id' });
    db.createObjectStore('settings');
  },
  // 2: a record is the response's fields plus its state (pending, or rejected with the server's
  // reason), and an index on (state, queued_at) finds the oldest pending record and counts each
  // state without reading any answers.
  2(db, tx) {
    const outbox = tx.objectStore('outbox');
    outbox.createIndex('state_queued', ['state', 'queued_at']);
    outbox.openCursor().onsuccess = (event) => {
      const cursor = event.target.result;
      if (!cursor) return;
      const old = cursor.value;
      const fields = old.body && typeof old.body === 'object' ? old.body : old;
      const upgraded = { ...fields, id: old.id };
      delete upgraded.body;
      delete upgraded.created;
      upgraded.state = old.state === 'rejected' ? 'rejected' : 'pending';
      upgraded.queued_at = Number(old.queued_at ?? old.created ?? 0);
      upgraded.rejection = old.rejection ?? null;
      cursor.update(upgraded);
      cursor.continue();
    };
  },
};

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
  });
}

export function openDatabase(name = DB_NAME, version = DB_VERSION) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, version);
    req.onupgradeneeded = (event) => {
      for (let step = event.oldVersion + 1; step <= version; step += 1) {
        STEPS[step](req.result, req.transaction);
      }
    };
    req.onsuccess = () => {
      const db = req.result;
      // A newer shell in another tab wants to upgrade: let it (this page reloads with it).
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = (event) => {
      if (req.error && req.error.name === 'VersionError') {
        // An older shell meeting a store a newer one upgraded: use it as it is, never downgrade.
        event.preventDefault();
        request(indexedDB.open(name)).then(resolve, reject);
        return;
      }
      reject(req.error);
    };
  });
}

export class KioskStore {
  constructor(db) {
    this.db = db;
  }

  static async open(name = DB_NAME) {
    return new KioskStore(await openDatabase(name));
  }

  /** Save a new record; resolves once it is committed to disk ("strict" durability). */
  async add(record) {
    const tx = this.db.transaction('outbox', 'readwrite', { durability: 'strict' });
    tx.objectStore('outbox').add(record);
    await done(tx);
  }

  async next() {
    const tx = this.db.transaction('outbox', 'readonly');
    const cursor = await request(tx.objectStore('outbox').index('state_queued').openCursor(PENDING));
    return cursor ? cursor.value : null;
  }

  async remove(id) {
    const tx = this.db.transaction('outbox', 'readwrite');
    tx.objectStore('outbox').delete(id);
    await done(tx);
  }

  async reject(id, rejection) {
    const tx = this.db.transaction('outbox', 'readwrite', { durability: 'strict' });
    const outbox = tx.objectStore('outbox');
    const record = await request(outbox.get(id));
    if (record) outbox.put({ ...record, state: 'rejected', rejection });
    await done(tx);
  }

  /** Rejected records whose rejection status is one of `statuses` go back in the queue. */
  async requeue(statuses) {
    const tx = this.db.transaction('outbox', 'readwrite', { durability: 'strict' });
    const index = tx.objectStore('outbox').index('state_queued');
    let count = 0;
    await new Promise((resolve, reject) => {
      const req = index.openCursor(REJECTED);
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const cursor = req.result;
        if (!cursor) return resolve();
        const record = cursor.value;
        if (record.rejection && statuses.includes(record.rejection.status)) {
          cursor.update({ ...record, state: 'pending', rejection: null });
          count += 1;
        }
        cursor.continue();
      };
    });
    await done(tx);
    return count;
  }

  async counts() {
    const tx = this.db.transaction('outbox', 'readonly');
    const index = tx.objectStore('outbox').index('state_queued');
    const [pending, rejected] = await Promise.all([
      request(index.count(PENDING)),
      request(index.count(REJECTED)),
    ]);
    return { pending, rejected };
  }

  /** Why records were refused, for staff: ids, statuses and reasons, never the answers. */
  async rejections() {
    const tx = this.db.transaction('outbox', 'readonly');
    const records = await request(tx.objectStore('outbox').index('state_queued').getAll(REJECTED));
    return records.map((r) => ({ id: r.id, queued_at: r.queued_at, ...r.rejection }));
  }

  async get(key) {
    const tx = this.db.transaction('settings', 'readonly');
    return request(tx.objectStore('settings').get(key));
  }

  async set(key, value) {
    const tx = this.db.transaction('settings', 'readwrite', { durability: 'strict' });
    tx.objectStore('settings').put(value, key);
    await done(tx);
  }

  async unset(key) {
    const tx = this.db.transaction('settings', 'readwrite');
    tx.objectStore('settings').delete(key);
    await done(tx);
  }
}
