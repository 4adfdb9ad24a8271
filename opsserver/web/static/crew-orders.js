/* The crew page's orders from the command centre: seen at once, acknowledged from the phone.
 *
 * While my point is in an active round it asks GET /api/v1/rounds/{id}/orders?point_code= every 5 s (online
 * and seen; backing off while there is no answer) and keeps the last answer in localStorage. Each order not
 * acknowledged stands above the screens: its kind, readiness level or aim, the server's text, when it was
 * issued, and "Acknowledge"; a new one vibrates and beeps where the browser allows. An acknowledgement is an
 * `order_ack` record in the offline queue with the phone's time (sent through /sync when there is signal):
 * the card says "sending", then "acknowledged"; the last three acknowledged orders are listed on the home
 * screen.
 */
(function (C) {
  'use strict';

  const { $, S, el, show, fill, fmt, showTime, problemNode, inPageLanguage, api, load, save, auth, session, uuid,
    enqueue, isoLocal } = C;

  const ORDERS_KEY = 'crew.orders';
  const SEEN_KEY = 'crew.orders-seen';  // the orders this phone has announced (vibrated for) already
  const POLL_MS = 5000;
  const MAX_POLL_MS = 60000;
  const ACKED_SHOWN_MS = 8000;          // an order acknowledged here stays on top this long, as "acknowledged"
  const HISTORY = 3;

  let known = load(ORDERS_KEY);         // {round_id, point_code, items, at}: the server's last answer
  let seen = new Set(load(SEEN_KEY) || []);
  const acks = new Map();               // order id → this phone's newest order_ack record
  const shown = new Map();              // order id → the state it was last drawn in
  const ackedAt = new Map();            // order id → when this page saw it turn acknowledged
  const tapped = new Set();             // acknowledged on this page, the record not yet in the queue
  let timer = null;
  let polling = false;
  let failures = 0;
  let audio = null;
  let drawn = '';                       // what the cards show now (their orders and states)

  function here() {
    const me = session.me;
    return me && me.round && me.point ? { round: me.round.id, point: me.point.code } : null;
  }

  /** My point's orders in this round, newest first, each with its state: new, sending, refused, acked. */
  function rows() {
    const ctx = here();
    if (!ctx || !known || known.round_id !== ctx.round || known.point_code !== ctx.point) return [];
    return known.items.map((server) => {
      const item = acks.get(server.id);
      const o = item && item.result && item.result.acknowledged_at ? item.result : server;
      let state = o.acknowledged_at ? 'acked' : 'new';
      if (state === 'new' && (item || tapped.has(server.id))) state = item && item.status === 'refused' ? 'refused' : 'sending';
      return { o, state, item };
    }).sort((x, y) => Date.parse(y.o.issued_at) - Date.parse(x.o.issued_at) || y.o.id - x.o.id);
  }

  /** The order in one line: the server's text, or (in another language) the page's words for it. */
  function summary(o) {
    if (o.text && inPageLanguage(o.text)) return o.text;
    if (o.kind === 'fire') return fmt(o.rounds === 1 ? S.aim_one : S.aim, { az: o.azimuth_deg, el: o.elevation_deg, n: o.rounds });
    return (o.kind === 'cease' ? S.cease : S[`level_${o.readiness_level}`]) || o.kind;
  }

  function card({ o, state, item }) {
    const box = el('div', { class: `order ${state}`, 'data-id': o.id, 'data-state': state, 'data-kind': o.kind,
      'data-level': o.readiness_level },
    el('div', { class: 'order-head', text: S[`order_${o.kind}`] || o.kind }),
    el('div', { class: 'order-text', text: summary(o) }),
    o.notes ? el('div', { class: 'order-notes', text: o.notes }) : null,
    el('div', { class: 'small', text: `${S.order_issued} ${showTime(o.issued_at)}` }));
    if (state === 'acked') box.append(el('b', { class: 'order-ack', text: `${S.order_acked} ${showTime(o.acknowledged_at)}` }));
    else if (state === 'sending') box.append(el('b', { class: 'order-ack', text: S.order_sending }));
    if (state === 'refused') box.append(problemNode(item.problem));
    if (state === 'new' || state === 'refused') {
      const b = el('button', { type: 'button', class: 'big primary order-btn', text: S.order_ack_button });
      b.addEventListener('click', () => { b.disabled = true; acknowledge(o); });
      box.append(b);
    }
    return box;
  }

  function render() {
    const list = rows();
    const now = Date.now();
    let ringing = false;
    list.forEach(({ o, state }) => {
      const before = shown.get(o.id);
      if (state === 'acked' && before && before !== 'acked' && !ackedAt.has(o.id)) {
        ackedAt.set(o.id, now);
        setTimeout(render, ACKED_SHOWN_MS + 50);
      }
      shown.set(o.id, state);
      if (state === 'new' && !seen.has(o.id)) { seen.add(o.id); ringing = true; }
    });
    const top = list.filter((r) => r.state !== 'acked' || now - (ackedAt.get(r.o.id) || 0) < ACKED_SHOWN_MS);
    const past = list.filter((r) => r.state === 'acked' && !top.includes(r)).slice(0, HISTORY);
    // drawn again only when something changed: a card redrawn under a finger would lose its tap
    const key = JSON.stringify([!!auth(), top.map((r) => [r.o, r.state]), past.map((r) => r.o.id)]);
    if (key !== drawn) {
      drawn = key;
      const box = $('orders');
      fill(box, top.map(card));
      show(box, !!auth() && top.length > 0);
      fill($('orders-list'), past.map(({ o }) => el('li', { 'data-id': o.id, 'data-state': 'acked' },
        el('b', { text: summary(o) }), ` · ${showTime(o.issued_at)} · ${S.order_acked} ${showTime(o.acknowledged_at)}`)));
      show($('orders-history'), past.length > 0);
    }
    if (ringing) {
      save(SEEN_KEY, [...seen].slice(-50));
      ring();
    }
  }

  // --- a new order is felt and heard where the browser allows; nothing fails where it does not --------

  /** A page may only make sound after a tap: the first tap makes the audio context that later beeps use. */
  function unlockAudio() {
    if (audio) return;
    try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
  }

  function ring() {
    try { if (navigator.vibrate) navigator.vibrate([300, 150, 300]); } catch (e) { /* not allowed: the card is enough */ }
    try {
      if (!audio) return;
      if (audio.state === 'suspended') audio.resume();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.25;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.4);
    } catch (e) { /* no sound here */ }
  }

  ['pointerdown', 'keydown'].forEach((t) => document.addEventListener(t, unlockAudio, { capture: true, passive: true }));

  // --- acknowledging: a record in the offline queue, with the phone's time ----------------------------

  async function acknowledge(o) {
    const item = acks.get(o.id);
    if (tapped.has(o.id) || (item && item.status !== 'refused')) return;   // one acknowledgement per order
    tapped.add(o.id);
    render();
    await enqueue('order_ack', { id: uuid(), order_id: o.id, acknowledged_at: isoLocal(new Date()) },
      { text: o.text, kind: o.kind });
    tapped.delete(o.id);
  }

  /** The phone's queue changed: its order_ack records (newest first) say what was acknowledged here. */
  function setLocalOrders(items) {
    const a = auth();
    acks.clear();
    items.filter((i) => i.type === 'order_ack' && (!a || i.username === a.username)).forEach((i) => {
      if (!acks.has(i.payload.order_id)) acks.set(i.payload.order_id, i);
    });
    render();
  }

  // --- asking the server -------------------------------------------------------------------------------

  function schedule() {
    clearTimeout(timer);
    timer = here() && auth() ? setTimeout(pollOrders, Math.min(MAX_POLL_MS, POLL_MS * 2 ** Math.min(failures, 4))) : null;
  }

  const recent = (ctx) => known && known.round_id === ctx.round && known.point_code === ctx.point
    && Date.now() - known.at < POLL_MS;

  /** Ask now for my point's orders in this round (when signed in, online and seen), then every 5 s; `soft`:
   *  not when the last answer for this round is that recent (each /me answer asks so). */
  async function pollOrders(soft) {
    const ctx = here();
    if (!ctx || !auth()) { render(); schedule(); return; }
    if (polling || (soft === true && recent(ctx))) return;
    if (!navigator.onLine || document.visibilityState !== 'visible') { schedule(); return; }
    polling = true;
    try {
      const items = [];
      let cursor = null, etag = null, unchanged = false;
      // the last answer's ETag: unchanged, the server answers 304 with no body (a few hundred bytes a poll)
      const last = known && known.round_id === ctx.round && known.point_code === ctx.point ? known.etag : null;
      do {   // oldest first, in pages; a point's orders in one round fit in one
        const q = new URLSearchParams({ point_code: ctx.point, limit: 200 });
        if (cursor) q.set('cursor', cursor);
        const r = await api(`/rounds/${ctx.round}/orders?${q}`,
          { withEtag: true, headers: !cursor && last ? { 'If-None-Match': last } : undefined });
        if (r.notModified) { unchanged = true; break; }
        const data = r.data || {};
        if (!cursor && !data.next_cursor) etag = r.etag;   // one page: its ETag stands for the whole list
        items.push(...(data.items || []));
        cursor = data.next_cursor;
      } while (cursor);
      known = unchanged ? Object.assign(known, { at: Date.now() })
        : { round_id: ctx.round, point_code: ctx.point, items, at: Date.now(), etag };
      save(ORDERS_KEY, known);
      failures = 0;
    } catch (err) {
      failures += 1;
    } finally {
      polling = false;
    }
    render();
    schedule();
  }

  Object.assign(C, { pollOrders, renderOrders: render, setLocalOrders, ORDERS_KEY });
}(window.OpsCrew));
