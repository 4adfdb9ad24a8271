/* The crew page's words and how it writes things: its strings, times, durations, elements and problems.
 *
 * First of the crew page's scripts (templates/crew.html loads them in order: crew-format, crew-api,
 * crew-queue, crew-position, crew-screens, crew-airspace, crew-orders, crew-forms, crew). It creates the page's namespace, window.OpsCrew,
 * that the others add to. Strings come from the page's data- attributes (rendered with gettext); nothing is
 * loaded from a CDN.
 */
(function () {
  'use strict';

  const C = {};
  window.OpsCrew = C;

  const body = document.body;
  const S = JSON.parse(body.dataset.strings);
  const REASONS = JSON.parse(body.dataset.reasons);
  const STATES = JSON.parse(body.dataset.states);
  const FIELDS = JSON.parse(body.dataset.fields);
  const AMMO_NAMES = JSON.parse(body.dataset.ammoNames || '{}');
  const LANG = body.dataset.lang === 'en' ? 'en' : 'zh';
  const TZ = body.dataset.tz || 'Asia/Shanghai';

  const $ = (id) => document.getElementById(id);
  const fmt = (s, vars) => String(s).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));

  // --- times ------------------------------------------------------------------------------------

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

  /** A span of time in the one format, the end's date and offset left out when they are the start's:
   *  2026-11-29 18:00 → 22:30 +08:00, or 2026-11-29 18:00 +08:00 → 2026-11-30 06:00 +08:00. */
  function showSpan(from, to) {
    const a = showTime(from);
    const b = showTime(to);
    const [ad, at, ao] = a.split(' ');
    const [bd, bt, bo] = b.split(' ');
    if (!ao || !bo) return `${a} → ${b}`;
    return ad === bd && ao === bo ? `${ad} ${at} → ${bt} ${bo}` : `${a} → ${b}`;
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

  // --- elements -----------------------------------------------------------------------------------

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

  /** Put `children` in `node` in place of what it held, leaving out the missing ones (replaceChildren alone
   *  would print a null as the text "null"). */
  function fill(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false && c !== ''));
  }

  // --- readable problems --------------------------------------------------------------------------

  function fieldLabel(path) {
    const parts = String(path || '').split('.');
    return parts.map((p) => (/^\d+$/.test(p) ? `#${Number(p) + 1}` : (FIELDS[p] || p))).join(' ');
  }

  /** A server text in the page's language? (A Chinese page shows no English sentence: only its own label.) */
  const inPageLanguage = (text) => LANG === 'en' || /[\u3400-\u9fff]/.test(text);

  /** A flag or clearance reason: the page's label for its code, and the server's reason when it is in the
   *  page's language (never a missing value printed as `null`). */
  function reasonText(r) {
    const label = REASONS[r.code];
    const why = typeof r.reason === 'string' && r.reason.trim() && inPageLanguage(r.reason) ? r.reason.trim() : '';
    if (label && why && why !== label) return `${label} — ${why}`;
    return label || why || String(r.code || '');
  }

  /** An ammunition type's name in the page's language (as the catalogue has it when there is no translation). */
  const ammoName = (t) => AMMO_NAMES[t.name] || t.name || t.code;

  /** A problem+json answer as a readable block: its detail, then one line per bad field. */
  function problemNode(problem) {
    const box = el('div', { class: 'problem' });
    const status = problem && problem.status ? ` (${problem.status})` : '';
    box.append(el('p', { class: 'problem-title', text: `${S.server_error}${status}` }));
    if (problem && typeof (problem.detail || problem.title) === 'string') {
      box.append(el('p', { class: 'problem-detail', text: problem.detail || problem.title }));
    }
    const errors = (problem && problem.errors) || [];
    if (errors.length) {
      box.append(el('ul', { class: 'problem-errors' },
        errors.map((e) => el('li', {}, el('b', { text: fieldLabel(e.field) }), `: ${e.detail}`))));
    }
    return box;
  }

  Object.assign(C, {
    body, S, REASONS, STATES, FIELDS, LANG, $, fmt, ammoName, isoLocal, inputValue, phoneOffsetLabel, showTime, showSpan,
    showDuration, countdown, el, show, fill, reasonText, problemNode, inPageLanguage,
  });
}());
