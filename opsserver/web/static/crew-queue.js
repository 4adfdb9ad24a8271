/* The crew page's offline queue and its sender: IndexedDB, POST /api/v1/sync, back-off, idempotency keys.
 *
 * Offline first: everything the crew records goes into an IndexedDB queue on the phone first, with its
 * client id (UUID) and idempotency key, and is sent through POST /api/v1/sync when the network allows,
 * retrying with back-off. A replay of an item (the same idempotency key) returns the first answer and
 * stores nothing new, so sending again after a lost answer is always safe.
 */
(function (C) {
  'use strict';

  const { api, auth, HttpError, isoLocal } = C;

  const BATCH = 50;                 // items per sync request
  const MAX_BACKOFF_S = 60;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const dbPromise = window.idb.openDB('crew-queue', 1, {
    upgrade(db) {
      const store = db.createObjectStore('items', { keyPath: 'id' });
      store.createIndex('status', 'status');
      store.createIndex('created_at', 'created_at');
    },
  });

  async function allItems() {
    const db = await dbPromise;
    const items = await db.getAll('items');
    return items.sort((x, y) => x.created_at - y.created_at);
  }

  /** Put a record in the queue first (with its client id and idempotency key), then try to send it. */
  async function enqueue(type, payload, local) {
    const item = {
      id: payload.id, type, idempotency_key: uuid(), username: auth().username, payload, local: local || null,
      status: 'queued', created_at: Date.now(), attempts: 0, result: null, flags: [], problem: null,
    };
    const db = await dbPromise;
    await db.put('items', item);
    await C.renderQueue();
    syncSoon(0);
    return item;
  }

  const wire = (item) => Object.assign({ type: item.type, idempotency_key: item.idempotency_key }, item.payload);

  let syncing = false;
  let backoff = 0;
  let retryTimer = null;
  let retryAt = null;

  function syncSoon(delayMs) {
    clearTimeout(retryTimer);
    retryAt = delayMs ? Date.now() + delayMs : null;
    retryTimer = setTimeout(() => { retryAt = null; syncNow(); }, delayMs || 0);
  }

  /** Send now, from the start of the back-off (the crew asked, or the signal came back). */
  function syncAgain() {
    backoff = 0;
    syncSoon(0);
  }

  /** When the next try is due (phone time, ms), or null when none is waiting. */
  const nextTryAt = () => retryAt;

  function scheduleRetry() {
    backoff = Math.min(backoff + 1, 10);
    const seconds = Math.min(MAX_BACKOFF_S, 2 ** backoff) * (0.8 + Math.random() * 0.4);
    syncSoon(seconds * 1000);
  }

  async function syncNow() {
    const run = () => syncOnce().catch(() => scheduleRetry()).finally(() => C.renderQueue());
    if (navigator.locks) return navigator.locks.request('crew-sync', run);  // one tab sends at a time
    return run();
  }

  async function syncOnce() {
    if (syncing) return;
    const a = auth();
    if (!a) return;
    syncing = true;
    try {
      for (;;) {
        const waiting = (await allItems()).filter((i) => i.status === 'queued' && i.username === a.username);
        if (!waiting.length) { backoff = 0; return; }
        if (!navigator.onLine) { scheduleRetry(); return; }
        const batch = waiting.slice(0, BATCH);
        C.markSending();
        let answer;
        try {
          answer = await api('/sync', {
            method: 'POST', json: { items: batch.map(wire) }, headers: { 'X-Device-Time': isoLocal(new Date()) },
          });
        } catch (err) {
          if (err instanceof HttpError && err.status === 401) return;   // waits for a new sign-in
          throw err;                                                     // lost, timed out or 5xx: retry later
        }
        const db = await dbPromise;
        const results = answer.items || [];
        let retryable = false;
        for (let i = 0; i < batch.length; i += 1) {
          const item = batch[i];
          const r = results[i];
          item.attempts += 1;
          if (!r || r.status >= 500 || r.status === 429) {
            retryable = true;
          } else if (r.status < 300) {
            item.result = r.body || {};
            item.flags = item.result.flags || [];
            item.status = item.flags.length ? 'flagged' : 'sent';
            item.sent_at = Date.now();
            item.problem = null;
          } else {
            item.status = 'refused';
            item.problem = r.problem || { status: r.status };
          }
          await db.put('items', item);
        }
        // the server's answers that follow: who is on site (a check-in) and what ATC decides (a request)
        if (batch.some((i) => i.type === 'checkin' && i.status !== 'queued')) C.refreshMe();
        if (batch.some((i) => i.type === 'airspace_request' && i.status !== 'queued')) {
          C.renderQueue().then(() => C.pollAirspace());
        }
        if (retryable) throw new Error('some items must be sent again');
        backoff = 0;
      }
    } finally {
      syncing = false;
    }
  }

  Object.assign(C, { uuid, allItems, enqueue, syncSoon, syncAgain, nextTryAt });
}(window.OpsCrew));
