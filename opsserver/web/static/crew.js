/* The crew phone page (templates/crew.html).
 *
 * Offline first: everything the crew records goes into an IndexedDB queue on the phone first, with its
 * client id (UUID) and idempotency key, and is sent through POST /api/v1/sync when the network allows,
 * retrying with back-off. A replay of an item (the same idempotency key) returns the first answer and
 * stores nothing new, so sending again after a lost answer is always safe.
 * Strings come from the page's data- attributes (rendered with gettext); nothing is loaded from a CDN.
 */
(function () {
  'use strict';

  const body = document.body;
  const S = JSON.parse(body.dataset.strings);
  const REASONS = JSON.parse(body.dataset.reasons);
  const STATES = JSON.parse(body.dataset.states);
  const FIELDS = JSON.parse(body.dataset.fields);
  const API = body.dataset.api;
  const TZ = body.dataset.tz || 'Asia/Shanghai';

  const GOOD_ACCURACY_M = 50;       // a fix better than this can be sent at once
  const LOW_ACCURACY_WAIT_S = 15;   // a worse one after this wait (it carries its accuracy)
  const CLOCK_WARN_S = 60;          // show the clock offset when it is over a minute
  const BATCH = 50;                 // items per sync request
  const MAX_BACKOFF_S = 60;
  const FETCH_TIMEOUT_MS = 20000;

  const $ = (id) => document.getElementById(id);
  const fmt = (s, vars) => String(s).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));

  // --- small helpers --------------------------------------------------------------------------

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const pad = (n, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, '0');

  /** The phone's local time as ISO 8601 with its offset, e.g. 2026-11-29T22:05:03.120+08:00. */
  function isoLocal(d) {
    const off = -d.getTimezoneOffset();
    const sign = off >= 0 ? '+' : '-';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
      `${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}` +
      `${sign}${pad(off / 60)}:${pad(off % 60)}`;
  }

  /** A value for <input type=datetime-local> (phone's local time). */
  function inputValue(d, seconds) {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}` +
      (seconds ? `:${pad(d.getSeconds())}` : '');
  }

  function phoneOffsetLabel() {
    const off = -new Date().getTimezoneOffset();
    return `(UTC${off >= 0 ? '+' : '-'}${pad(off / 60)}:${pad(off % 60)})`;
  }

  const timeFormat = new Intl.DateTimeFormat('en-GB', {
    timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    hourCycle: 'h23', timeZoneName: 'longOffset',
  });

  /** A time in the operations time zone with its offset: 2026-11-29 22:05 +08:00. */
  function showTime(value) {
    if (!value) return '—';
    const d = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const p = {};
    timeFormat.formatToParts(d).forEach((x) => { p[x.type] = x.value; });
    const off = (p.timeZoneName || '').replace('GMT', '') || '+00:00';
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${off}`;
  }

  /** A span of time, compactly: 11-29 18:00 → 11-30 06:00 +08:00 (the date left out when it is today's). */
  function showSpan(from, to) {
    const a = showTime(from).split(' ');
    const b = showTime(to).split(' ');
    if (a.length < 3 || b.length < 3) return `${showTime(from)} → ${showTime(to)}`;
    const today = showTime(new Date()).split(' ')[0];
    const day = (d) => (d === today ? '' : `${d.slice(5)} `);
    return `${day(a[0])}${a[1]} → ${day(b[0])}${b[1]} ${b[2]}`;
  }

  function showDuration(totalSeconds) {
    const s = Math.round(Math.abs(totalSeconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    if (h) return `${h} ${S.hours} ${m} ${S.minutes}`;
    if (m) return `${m} ${S.minutes} ${sec} ${S.seconds}`;
    return `${sec} ${S.seconds}`;
  }

  function countdown(totalSeconds) {
    const s = Math.max(0, Math.floor(totalSeconds));
    const h = Math.floor(s / 3600);
    return (h ? `${h}:` : '') + `${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === undefined || v === null || v === false) return;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    });
    children.flat().forEach((c) => { if (c !== null && c !== undefined) e.append(c); });
    return e;
  }

  function show(node, visible) { node.hidden = !visible; }

  // The sector, geofence and minimum-crew checks: one definition, shared with the Python rules' vectors.
  const { distanceM, inSector, understaffed, withinGeofence } = window.OpsRules;

  // --- readable problems --------------------------------------------------------------------------

  function fieldLabel(path) {
    const parts = String(path || '').split('.');
    return parts.map((p) => (/^\d+$/.test(p) ? `#${Number(p) + 1}` : (FIELDS[p] || p))).join(' ');
  }

  function reasonText(r) {
    const label = REASONS[r.code];
    return label ? `${label} — ${r.reason}` : (r.reason || r.code);
  }

  /** A problem+json answer as a readable block: its detail, then one line per bad field. */
  function problemNode(problem) {
    const box = el('div', { class: 'problem' });
    const status = problem && problem.status ? ` (${problem.status})` : '';
    box.append(el('p', { class: 'problem-title', text: `${S.server_error}${status}` }));
    if (problem && (problem.detail || problem.title)) {
      box.append(el('p', { class: 'problem-detail', text: problem.detail || problem.title }));
    }
    const errors = (problem && problem.errors) || [];
    if (errors.length) {
      box.append(el('ul', { class: 'problem-errors' },
        errors.map((e) => el('li', {}, el('b', { text: fieldLabel(e.field) }), `: ${e.detail}`))));
    }
    return box;
  }

  // --- the network ------------------------------------------------------------------------------

  const AUTH_KEY = 'crew.auth';
  const ME_KEY = 'crew.me';
  const AMMO_KEY = 'crew.ammo';

  const load = (key) => { try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; } };
  const save = (key, value) => localStorage.setItem(key, JSON.stringify(value));

  function auth() {
    const a = load(AUTH_KEY);
    return a && a.token ? a : null;
  }

  class HttpError extends Error {
    constructor(status, problem) {
      super(`HTTP ${status}`);
      this.status = status;
      this.problem = problem;
    }
  }

  async function api(path, options = {}) {
    const a = auth();
    const headers = Object.assign({ Accept: 'application/json' }, options.headers || {});
    if (a && !options.noAuth) headers.Authorization = `Bearer ${a.token}`;
    if (options.json !== undefined) headers['Content-Type'] = 'application/json';
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), FETCH_TIMEOUT_MS);
    let resp;
    try {
      resp = await fetch(API + path, {
        method: options.method || 'GET', headers, signal: ctrl.signal, cache: 'no-store',
        body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
      });
    } finally {
      clearTimeout(timer);
    }
    const type = resp.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await resp.json().catch(() => null) : null;
    if (!resp.ok) {
      if (resp.status === 401 && !options.noAuth) sessionExpired();
      throw new HttpError(resp.status, data || { status: resp.status, title: resp.statusText });
    }
    return data;
  }

  // --- the queue (IndexedDB) --------------------------------------------------------------------

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
    await renderQueue();
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

  function scheduleRetry() {
    backoff = Math.min(backoff + 1, 10);
    const seconds = Math.min(MAX_BACKOFF_S, 2 ** backoff) * (0.8 + Math.random() * 0.4);
    syncSoon(seconds * 1000);
  }

  async function syncNow() {
    const run = () => syncOnce().catch(() => scheduleRetry()).finally(() => renderQueue());
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
        document.querySelectorAll('#queue-list li[data-status="queued"]').forEach((li) => li.classList.add('sending'));
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
        if (retryable) throw new Error('some items must be sent again');
        backoff = 0;
      }
    } finally {
      syncing = false;
    }
  }

  // --- rendering the queue --------------------------------------------------------------------

  function itemSummary(item) {
    const p = item.payload;
    if (item.type === 'checkin') {
      const parts = [`${p.point_code}`, showTime(p.recorded_at)];
      const r = item.result;
      if (r && r.distance_m !== undefined) parts.push(`${Math.round(r.distance_m)} m`);
      else if (item.local && item.local.distance_m !== undefined) parts.push(`${Math.round(item.local.distance_m)} m`);
      if (p.accuracy_m !== null && p.accuracy_m !== undefined) parts.push(`±${Math.round(p.accuracy_m)} m`);
      return parts.join(' · ');
    }
    if (item.type === 'report') {
      const fired = p.ammo.map((a) => `${a.type} ${a.fired}/${a.duds}`).join(', ');
      return `${p.point_code} · ${showTime(p.started_at)} · ${p.azimuth_deg}° / ${p.elevation_deg}° · ${fired}`;
    }
    if (item.type === 'airspace_request') {
      return `${p.point_code} · ${showTime(p.window_start)} · ${p.duration_min} ${S.minutes}` +
        (p.max_height_m ? ` · ≤${p.max_height_m} m` : '');
    }
    return item.type;
  }

  function itemTitle(item) {
    if (item.type === 'checkin') return item.payload.kind === 'arrive' ? S.checkin_arrive : S.checkin_depart;
    return S[item.type] || item.type;
  }

  async function renderQueue() {
    const a = auth();
    const items = (await allItems()).filter((i) => !a || i.username === a.username).reverse();
    const waiting = items.filter((i) => i.status === 'queued').length;
    const badge = $('pending-badge');
    badge.textContent = waiting;
    show(badge, waiting > 0);
    let summary = waiting ? `${waiting} ${S.pending}` : S.queue_empty;
    if (waiting && retryAt) summary += ` · ${fmt(S.retry_in, { s: Math.max(0, Math.round((retryAt - Date.now()) / 1000)) })}`;
    $('queue-summary').textContent = summary;
    $('queue-summary').dataset.pending = waiting;
    const list = $('queue-list');
    list.replaceChildren();
    if (!items.length) list.append(el('li', { class: 'none', text: S.no_records }));
    items.forEach((item) => {
      const li = el('li', { class: `rec ${item.status}`, 'data-id': item.id, 'data-type': item.type,
        'data-status': item.status },
      el('div', { class: 'rec-head' },
        el('b', { text: itemTitle(item) }),
        el('span', { class: `chip ${item.status}`, text: S[item.status] || item.status })),
      el('div', { class: 'rec-sum', text: itemSummary(item) }));
      if (item.type === 'checkin' && item.result && item.result.within_geofence !== undefined) {
        li.append(el('div', { class: 'rec-fence', text: fmt(item.result.within_geofence ? S.inside : S.outside,
          { radius: Math.round(item.result.geofence_m) }) }));
      }
      if (item.flags && item.flags.length) {
        li.append(el('ul', { class: 'flags' }, item.flags.map((f) => el('li', { 'data-code': f.code, text: reasonText(f) }))));
      }
      if (item.problem) li.append(problemNode(item.problem));
      list.append(li);
    });
  }

  // --- who I am, my shift, my point, the round ------------------------------------------------

  let me = null;          // the last /api/v1/me answer (kept in localStorage for opening with no signal)
  let meAt = 0;           // phone time when it was received
  let clockOffsetS = 0;   // phone clock minus server clock

  async function refreshMe() {
    if (!auth()) return;
    const sent = Date.now();
    let data;
    try {
      data = await api('/me');
    } catch (err) {
      renderMe();
      return;
    }
    const received = Date.now();
    const phoneAtServerTime = (sent + received) / 2;
    clockOffsetS = (phoneAtServerTime - new Date(data.server_time).getTime()) / 1000;
    me = data;
    meAt = received;
    save(ME_KEY, { me, meAt, clockOffsetS, username: auth().username });
    renderMe();
    api('/ammo/types').then((d) => { save(AMMO_KEY, d.items || []); renderAmmoRows(); }).catch(() => {});
  }

  function serverNow() { return Date.now() - clockOffsetS * 1000; }

  function renderClock() {
    const box = $('clock-warning');
    if (!me || Math.abs(clockOffsetS) <= CLOCK_WARN_S) { show(box, false); return; }
    const text = fmt(clockOffsetS > 0 ? S.clock_ahead : S.clock_behind, { offset: showDuration(clockOffsetS) });
    box.textContent = `${text} ${S.clock_fix}`;
    box.dataset.offsetS = Math.round(clockOffsetS);
    show(box, true);
  }

  function renderMe() {
    renderClock();
    if (!me) return;
    const crew = me.crew || {};
    $('me-name').textContent = crew.name || me.username;
    $('me-username').textContent = me.username;
    const cert = $('me-cert');
    cert.className = `cert ${crew.certificate_status || ''}`;
    if (crew.certificate_status === 'expired') cert.textContent = `${S.cert_expired} (${crew.certificate_expires})`;
    else if (crew.certificate_status && crew.certificate_status !== 'valid') {
      cert.textContent = `${S.cert_expiring} (${crew.certificate_expires})`;
    } else cert.textContent = crew.certificate_expires ? `${S.cert_expires} ${crew.certificate_expires}` : '';

    const shift = me.shift;
    $('me-shift').replaceChildren(shift
      ? el('div', { class: `shift ${shift.on_now ? 'now' : 'next'}` },
        el('b', { text: shift.on_now ? S.shift_now : S.shift_next }), ' ',
        `${shift.point_code} · ${S[shift.position] || shift.position} · ${showSpan(shift.starts_at, shift.ends_at)}`)
      : el('div', { class: 'muted', text: S.no_shift }));

    const p = me.point;
    $('hdr-point').textContent = p ? p.code : '';
    $('point-code').textContent = p ? p.code : '';
    $('point-name').textContent = p ? p.name : S.no_point;
    $('point-facts').replaceChildren(...(p ? [
      el('span', { text: `${S.sector} ${p.sector_start_deg}° → ${p.sector_end_deg}° (${S.clockwise})` }),
      el('span', { text: `${S.geofence} ${Math.round(p.geofence_m)} m` }),
      el('span', { class: understaffed(p.crew_on_site, p.min_crew) ? 'short' : '', text: `${S.crew_on_site} ${p.crew_on_site} / ${p.min_crew}` }),
    ] : []));
    ['btn-arrive', 'btn-depart'].forEach((id) => { $(id).disabled = !p; });

    const r = me.round;
    $('round-info').replaceChildren(r
      ? el('div', {}, el('span', { class: `dot ${r.colour}` }), el('b', { text: r.name }), ' · ',
        el('span', { id: 'round-state', 'data-state': r.state, text: STATES[r.state] || r.state }))
      : el('div', { class: 'muted', text: S.no_round }));
    const roundText = r ? `${r.name} · ${STATES[r.state] || r.state}` : S.no_round_form;
    $('airspace-round').textContent = roundText;
    $('report-round').textContent = roundText;
    $('report-sector').textContent = p ? `${p.sector_start_deg}° → ${p.sector_end_deg}° (${S.clockwise})` : '—';
    renderWindow();
    const stale = !navigator.onLine || (Date.now() - meAt > 5 * 60 * 1000);
    $('me-updated').textContent = `${S.last_update} ${showTime(new Date(meAt - clockOffsetS * 1000))}${stale ? ` · ${S.stale}` : ''}`;
  }

  function renderWindow() {
    const box = $('window-info');
    const w = me && me.round && me.round.open_window;
    if (!w) { box.replaceChildren(el('span', { class: 'muted', text: S.no_window })); return; }
    const left = (new Date(w.end).getTime() - serverNow()) / 1000;
    box.replaceChildren(
      el('div', {}, showSpan(w.start, w.end)),
      el('div', { class: 'countdown' }, `${S.window_ends_in} `, el('b', { id: 'window-countdown', text: countdown(left) })),
      w.reference ? el('div', { class: 'muted', text: `${S.window_ref} ${w.reference}` }) : null);
    box.classList.toggle('ending', left < 600);
  }

  // --- check in and out -------------------------------------------------------------------------

  let watchId = null;
  let fix = null;
  let firstFixAt = 0;
  let checkinKind = null;
  let waitTimer = null;

  function stopWatching() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    clearInterval(waitTimer);
    waitTimer = null;
  }

  function startCheckin(kind) {
    stopWatching();
    checkinKind = kind;
    fix = null;
    firstFixAt = 0;
    show($('home-message'), false);
    show($('checkin-panel'), true);
    $('checkin-title').textContent = kind === 'arrive' ? S.checkin_arrive : S.checkin_depart;
    $('checkin-status').textContent = S.locating;
    ['checkin-distance', 'checkin-fence', 'checkin-accuracy'].forEach((id) => { $(id).textContent = ''; });
    show($('checkin-wait'), false);
    const send = $('checkin-send');
    send.disabled = true;
    send.textContent = S.send_checkin;
    if (!navigator.geolocation) { $('checkin-status').textContent = S.geo_none; return; }
    watchId = navigator.geolocation.watchPosition(onFix, onFixError,
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    waitTimer = setInterval(renderFix, 1000);
    $('checkin-panel').scrollIntoView({ block: 'nearest' });
  }

  function onFix(pos) {
    fix = pos;
    if (!firstFixAt) firstFixAt = Date.now();
    renderFix();
  }

  function onFixError(err) {
    $('checkin-status').textContent = err.code === 1 ? S.geo_denied : S.geo_unavailable;
  }

  function renderFix() {
    if (!fix || !me || !me.point) return;
    const p = me.point;
    const c = fix.coords;
    const d = distanceM(c.latitude, c.longitude, p.latitude, p.longitude);
    const inside = withinGeofence(d, p.geofence_m);
    $('checkin-status').textContent = '';
    $('checkin-distance').textContent = `${fmt(S.distance, { code: p.code })}: ${Math.round(d)} m`;
    $('checkin-distance').dataset.distanceM = d.toFixed(1);
    const fence = $('checkin-fence');
    fence.textContent = fmt(inside ? S.inside : S.outside, { radius: Math.round(p.geofence_m) });
    fence.className = `fence ${inside ? 'inside' : 'outside'}`;
    fence.dataset.inside = inside;
    $('checkin-accuracy').textContent = fmt(S.accuracy, { acc: Math.round(c.accuracy) });
    const send = $('checkin-send');
    const wait = $('checkin-wait');
    if (c.accuracy <= GOOD_ACCURACY_M) {
      show(wait, false);
      send.disabled = false;
      send.textContent = S.send_checkin;
      return;
    }
    const left = LOW_ACCURACY_WAIT_S - Math.floor((Date.now() - firstFixAt) / 1000);
    show(wait, true);
    if (left > 0) {
      wait.textContent = `${S.low_accuracy} ${fmt(S.send_anyway_in, { s: left })}`;
      send.disabled = true;
    } else {
      wait.textContent = S.low_accuracy;
      send.disabled = false;
      send.textContent = S.send_anyway;
    }
  }

  async function sendCheckin() {
    if (!fix || !me || !me.point) return;
    const c = fix.coords;
    const p = me.point;
    const payload = {
      id: uuid(), point_code: p.code, kind: checkinKind, latitude: c.latitude, longitude: c.longitude,
      accuracy_m: Math.round(c.accuracy * 10) / 10, recorded_at: isoLocal(new Date(fix.timestamp || Date.now())),
    };
    stopWatching();
    show($('checkin-panel'), false);
    await enqueue('checkin', payload, { distance_m: distanceM(c.latitude, c.longitude, p.latitude, p.longitude) });
    flash('home-message', S.recorded);
  }

  function flash(id, text) {
    const m = $(id);
    m.textContent = text;
    show(m, true);
  }

  // --- forms -----------------------------------------------------------------------------------

  function clearErrors(form) {
    form.querySelectorAll('[data-error-for]').forEach((p) => { p.textContent = ''; show(p, false); });
    form.querySelectorAll('.invalid').forEach((i) => i.classList.remove('invalid'));
  }

  function setError(form, field, message, input) {
    const p = form.querySelector(`[data-error-for="${field}"]`);
    if (p) {
      p.textContent = p.textContent ? `${p.textContent} ${message}` : message;
      show(p, true);
    }
    if (input) input.classList.add('invalid');
  }

  /** A number from an input: null when empty, NaN when not a number. */
  function numberOf(input) {
    const raw = input.value.trim();
    if (raw === '' && input.validity && input.validity.badInput) return NaN;
    if (raw === '') return null;
    return Number(raw.replace(',', '.'));
  }

  function requireRound(form) {
    if (me && me.round && me.point) return true;
    setError(form, '_form', S.no_round_form);
    return false;
  }

  async function submitAirspace(ev) {
    ev.preventDefault();
    const form = ev.target;
    clearErrors(form);
    show($('airspace-message'), false);
    let ok = true;
    const start = $('as-start');
    const duration = numberOf($('as-duration'));
    const height = numberOf($('as-height'));
    if (!start.value) { setError(form, 'window_start', S.time_required, start); ok = false; }
    if (duration === null || !Number.isInteger(duration) || duration < 1 || duration > 1440) {
      setError(form, 'duration_min', S.duration_range, $('as-duration')); ok = false;
    }
    if (height !== null && !(height > 0)) { setError(form, 'max_height_m', S.height_positive, $('as-height')); ok = false; }
    if (!ok || !requireRound(form)) return;
    const payload = {
      id: uuid(), round_id: me.round.id, point_code: me.point.code, window_start: isoLocal(new Date(start.value)),
      duration_min: duration,
    };
    if (height !== null) payload.max_height_m = height;
    await enqueue('airspace_request', payload);
    flash('airspace-message', S.recorded);
  }

  function renderSectorState() {
    const box = $('rp-sector-state');
    const az = numberOf($('rp-azimuth'));
    if (!me || !me.point || az === null || Number.isNaN(az) || az < 0 || az > 360) { show(box, false); return; }
    const inside = inSector(az, me.point.sector_start_deg, me.point.sector_end_deg);
    box.textContent = inside ? S.in_sector : S.out_sector;
    box.className = `sector-state ${inside ? 'inside' : 'outside'}`;
    box.dataset.inside = inside;
    show(box, true);
  }

  /** Azimuth and elevation, or errors on the form; shared by the clearance check and the report. */
  function aimOf(form) {
    let ok = true;
    const az = numberOf($('rp-azimuth'));
    const elv = numberOf($('rp-elevation'));
    if (az === null) { setError(form, 'azimuth_deg', S.az_required, $('rp-azimuth')); ok = false; }
    else if (Number.isNaN(az) || az < 0 || az > 360) { setError(form, 'azimuth_deg', S.az_range, $('rp-azimuth')); ok = false; }
    if (elv === null) { setError(form, 'elevation_deg', S.el_required, $('rp-elevation')); ok = false; }
    else if (Number.isNaN(elv) || elv < 0 || elv > 90) { setError(form, 'elevation_deg', S.el_range, $('rp-elevation')); ok = false; }
    return ok ? { az, elv } : null;
  }

  let clearanceSeq = 0;
  async function checkClearance() {
    const form = $('report-form');
    ['azimuth_deg', 'elevation_deg'].forEach((f) => {
      const p = form.querySelector(`[data-error-for="${f}"]`);
      p.textContent = '';
      show(p, false);
    });
    const box = $('clearance-answer');
    const aim = aimOf(form);
    if (!aim || !me || !me.point) { box.replaceChildren(); return; }
    if (!navigator.onLine) { box.replaceChildren(el('p', { class: 'warn-text', text: S.clearance_offline })); return; }
    const seq = ++clearanceSeq;
    box.replaceChildren(el('p', { class: 'muted', text: S.checking }));
    try {
      const q = new URLSearchParams({ azimuth: aim.az, elevation: aim.elv });
      const ans = await api(`/points/${encodeURIComponent(me.point.code)}/clearance?${q}`);
      if (seq !== clearanceSeq) return;
      box.dataset.cleared = ans.cleared;
      box.replaceChildren(
        el('p', { class: ans.cleared ? 'cleared yes' : 'cleared no', text: ans.cleared ? S.cleared_yes : S.cleared_no }),
        ans.reasons && ans.reasons.length
          ? el('ul', { class: 'flags' }, ans.reasons.map((r) => el('li', { 'data-code': r.code, text: reasonText(r) })))
          : null,
        ans.window ? el('p', { class: 'muted', text: showSpan(ans.window.start, ans.window.end) }) : null);
    } catch (err) {
      if (seq !== clearanceSeq) return;
      delete box.dataset.cleared;
      box.replaceChildren(err instanceof HttpError ? problemNode(err.problem)
        : el('p', { class: 'warn-text', text: S.clearance_offline }));
    }
  }

  let clearanceTimer = null;
  function clearanceSoon() {
    clearTimeout(clearanceTimer);
    const az = numberOf($('rp-azimuth'));
    const elv = numberOf($('rp-elevation'));
    if (az === null || elv === null) return;
    clearanceTimer = setTimeout(checkClearance, 700);
  }

  function renderAmmoRows() {
    const box = $('ammo-rows');
    const types = load(AMMO_KEY) || [];
    const kept = {};
    box.querySelectorAll('.ammo-row').forEach((row) => {
      kept[row.dataset.type] = [row.querySelector('.fired').value, row.querySelector('.duds').value];
    });
    box.replaceChildren(...types.map((t) => {
      const [fired, duds] = kept[t.code] || ['', ''];
      return el('div', { class: 'ammo-row', 'data-type': t.code },
        el('span', { class: 'ammo-name', text: t.name }),
        el('label', {}, FIELDS.fired,
          el('input', { type: 'number', className: 'fired', inputMode: 'numeric', min: 0, step: 1, value: fired,
            name: `fired-${t.code}` })),
        el('label', {}, FIELDS.duds,
          el('input', { type: 'number', className: 'duds', inputMode: 'numeric', min: 0, step: 1, value: duds,
            name: `duds-${t.code}` })));
    }));
  }

  async function submitReport(ev) {
    ev.preventDefault();
    const form = ev.target;
    clearErrors(form);
    show($('report-message'), false);
    let ok = true;
    const aim = aimOf(form);
    if (!aim) ok = false;
    const start = $('rp-start');
    const end = $('rp-end');
    if (!start.value) { setError(form, 'started_at', S.time_required, start); ok = false; }
    if (!end.value) { setError(form, 'ended_at', S.time_required, end); ok = false; }
    if (start.value && end.value && new Date(end.value) < new Date(start.value)) {
      setError(form, 'ended_at', S.end_before_start, end); ok = false;
    }
    const ammo = [];
    let ammoOk = true;
    form.querySelectorAll('.ammo-row').forEach((row) => {
      const fired = numberOf(row.querySelector('.fired'));
      const duds = numberOf(row.querySelector('.duds'));
      const bad = (input, v) => {
        if (v === null) return false;
        if (Number.isNaN(v) || v < 0) { setError(form, 'ammo', S.count_negative, input); return true; }
        if (!Number.isInteger(v)) { setError(form, 'ammo', S.count_whole, input); return true; }
        return false;
      };
      const badFired = bad(row.querySelector('.fired'), fired);
      const badDuds = bad(row.querySelector('.duds'), duds);
      if (badFired || badDuds) { ammoOk = false; return; }
      if ((duds || 0) > (fired || 0)) { setError(form, 'ammo', S.duds_over, row.querySelector('.duds')); ammoOk = false; return; }
      if (fired) ammo.push({ type: row.dataset.type, fired, duds: duds || 0 });
    });
    if (ammoOk && !ammo.length) { setError(form, 'ammo', S.nothing_fired); ammoOk = false; }
    if (!ok || !ammoOk || !requireRound(form)) {
      const first = form.querySelector('.invalid, [data-error-for]:not([hidden])');
      if (first) first.scrollIntoView({ block: 'center' });
      return;
    }
    const notes = $('rp-notes').value.trim();
    const payload = {
      id: uuid(), round_id: me.round.id, point_code: me.point.code,
      started_at: isoLocal(new Date(start.value)), ended_at: isoLocal(new Date(end.value)),
      azimuth_deg: aim.az, elevation_deg: aim.elv, ammo, cloud_type: $('rp-cloud').value || null, notes: notes || null,
    };
    await enqueue('report', payload);
    form.reset();
    form.querySelectorAll('.ammo-row input').forEach((i) => { i.value = ''; });
    resetTimes();
    renderSectorState();
    $('clearance-answer').replaceChildren();
    flash('report-message', S.recorded);
  }

  function resetTimes() {
    // a firing's times to the second: a report must not seem to start before its round became active
    // (fields the crew has not touched follow the clock, so that opening the form later gives the time then)
    const now = new Date();
    [['as-start', false], ['rp-start', true], ['rp-end', true]].forEach(([id, seconds]) => {
      const input = $(id);
      if (!input.value || input.dataset.touched !== '1') {
        input.value = inputValue(now, seconds);
        delete input.dataset.touched;
      }
    });
  }

  // --- sign in and out --------------------------------------------------------------------------

  function sessionExpired() {
    const w = $('session-warning');
    w.textContent = S.signin_again;
    show(w, true);
    const a = load(AUTH_KEY);
    if (a) { a.token = null; save(AUTH_KEY, a); }
    route();
  }

  async function signIn(ev) {
    ev.preventDefault();
    const err = $('signin-error');
    show(err, false);
    const username = $('signin-username').value.trim();
    const password = $('signin-password').value;
    if (!username || !password) { err.textContent = S.field_required; show(err, true); return; }
    if (!navigator.onLine) { err.textContent = S.signin_offline; show(err, true); return; }
    try {
      const t = await api('/auth/token', { method: 'POST', json: { username, password }, noAuth: true });
      save(AUTH_KEY, { token: t.access_token, expires_at: t.expires_at, username, role: t.role });
    } catch (e) {
      if (e instanceof HttpError && e.status === 429) err.textContent = S.signin_throttled;
      else if (e instanceof HttpError && e.status === 401) err.textContent = S.signin_failed;
      else if (e instanceof HttpError) { err.replaceChildren(problemNode(e.problem)); }
      else err.textContent = S.signin_offline;
      show(err, true);
      return;
    }
    $('signin-password').value = '';
    show($('session-warning'), false);
    const cached = load(ME_KEY);
    if (!cached || cached.username !== username) { me = null; localStorage.removeItem(ME_KEY); }
    await refreshMe();
    route();
    renderQueue();
    syncSoon(0);
  }

  function signOut() {
    localStorage.removeItem(AUTH_KEY);
    localStorage.removeItem(ME_KEY);
    me = null;
    stopWatching();
    route();
  }

  // --- screens ----------------------------------------------------------------------------------

  const SCREENS = ['home', 'airspace', 'report', 'queue'];

  function route() {
    const signedIn = !!auth();
    const wanted = (location.hash || '#home').slice(1);
    const screen = signedIn ? (SCREENS.includes(wanted) ? wanted : 'home') : 'signin';
    document.querySelectorAll('.screen').forEach((s) => show(s, s.id === `screen-${screen}`));
    show($('tabs'), signedIn);
    document.querySelectorAll('#tabs button').forEach((b) => b.classList.toggle('on', b.dataset.screen === screen));
    body.dataset.screen = screen;
    if (screen === 'airspace' || screen === 'report') resetTimes();
    window.scrollTo(0, 0);
  }

  function renderNet() {
    const net = $('net');
    net.textContent = navigator.onLine ? S.online : S.offline;
    net.className = `net ${navigator.onLine ? 'on' : 'off'}`;
  }

  function tick() {
    if (me) renderWindow();
    if (retryAt) renderQueue();
  }

  // --- start ------------------------------------------------------------------------------------

  function start() {
    const cached = load(ME_KEY);
    const a = auth();
    if (cached && a && cached.username === a.username) {
      ({ me, meAt, clockOffsetS } = cached);
    }
    document.querySelectorAll('.tzlabel').forEach((s) => { s.textContent = phoneOffsetLabel(); });
    resetTimes();
    renderNet();
    renderMe();
    renderAmmoRows();
    route();
    renderQueue();

    $('signin-form').addEventListener('submit', signIn);
    $('signout').addEventListener('click', signOut);
    $('btn-arrive').addEventListener('click', () => startCheckin('arrive'));
    $('btn-depart').addEventListener('click', () => startCheckin('depart'));
    $('checkin-send').addEventListener('click', sendCheckin);
    $('checkin-cancel').addEventListener('click', () => { stopWatching(); show($('checkin-panel'), false); });
    ['as-start', 'rp-start', 'rp-end'].forEach((id) => $(id).addEventListener('input', (e) => {
      e.target.dataset.touched = '1';
    }));
    ['airspace-form', 'report-form'].forEach((id) => $(id).addEventListener('input', (e) => {
      // an edited field's message goes (the next submit checks everything again)
      const name = e.target.name || '';
      const key = /^(fired|duds)-/.test(name) ? 'ammo' : name;
      e.target.classList.remove('invalid');
      const p = $(id).querySelector(`[data-error-for="${key}"]`);
      if (p && !$(id).querySelector(key === 'ammo' ? '.ammo-row .invalid' : `[name="${key}"].invalid`)) {
        p.textContent = '';
        show(p, false);
      }
    }));
    $('airspace-form').addEventListener('submit', submitAirspace);
    $('report-form').addEventListener('submit', submitReport);
    $('rp-azimuth').addEventListener('input', () => { renderSectorState(); clearanceSoon(); });
    $('rp-elevation').addEventListener('input', clearanceSoon);
    $('btn-clearance').addEventListener('click', checkClearance);
    $('btn-sync').addEventListener('click', () => { backoff = 0; syncSoon(0); });
    document.querySelectorAll('#tabs button').forEach((b) => b.addEventListener('click', () => {
      location.hash = b.dataset.screen;
    }));
    window.addEventListener('hashchange', route);
    window.addEventListener('online', () => { renderNet(); backoff = 0; syncSoon(0); refreshMe(); });
    window.addEventListener('offline', () => { renderNet(); renderMe(); });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && navigator.onLine) { syncSoon(0); refreshMe(); }
    });
    setInterval(tick, 1000);
    setInterval(() => { if (navigator.onLine) refreshMe(); }, 60000);

    if (a) { refreshMe(); syncSoon(0); }
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register(body.dataset.sw, { scope: body.dataset.scope }).catch(() => {});
    }
  }

  start();
}());
