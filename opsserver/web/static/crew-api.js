/* The crew page's API and session client: the bearer token, the cached /me answer and the clock offset.
 *
 * The sign-in, the last /api/v1/me answer, the ammunition types and my point's no-fire zones are kept in
 * localStorage, so that the page opens with no signal showing what it last knew. `api()` sends one request with the token and a
 * timeout and throws an HttpError (with the problem+json body) for an answer that is not ok; a 401 means the
 * token has expired (OpsCrew.sessionExpired, in crew.js, asks for a new sign-in).
 */
(function (C) {
  'use strict';

  const API = C.body.dataset.api;
  const FETCH_TIMEOUT_MS = 20000;

  const AUTH_KEY = 'crew.auth';
  const ME_KEY = 'crew.me';
  const AMMO_KEY = 'crew.ammo';
  const POINT_AMMO_KEY = 'crew.point-ammo';   // the types my point holds (its ledger), for the report form
  const ZONES_KEY = 'crew.zones';             // the no-fire zones near my point (GET /points/{code}/zones)

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
    // the server's human texts (reasons, messages) in the page's language; the codes stay
    const headers = Object.assign({ Accept: 'application/json', 'Accept-Language': C.LANG === 'en' ? 'en' : 'zh-CN' },
      options.headers || {});
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
    // asked with If-None-Match (`withEtag`): unchanged, no body; else the data with the answer's ETag
    if (options.withEtag && resp.status === 304) return { notModified: true };
    const type = resp.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await resp.json().catch(() => null) : null;
    if (!resp.ok) {
      if (resp.status === 401 && !options.noAuth) C.sessionExpired();
      throw new HttpError(resp.status, data || { status: resp.status, title: resp.statusText });
    }
    return options.withEtag ? { data, etag: resp.headers.get('ETag') } : data;
  }

  // --- who I am, and the phone's clock against the server's ---------------------------------------

  // One object that every script reads, so that a new /me answer is seen everywhere at once.
  const session = {
    me: null,          // the last /api/v1/me answer (kept in localStorage for opening with no signal)
    meAt: 0,           // phone time when it was received
    clockOffsetS: 0,   // phone clock minus server clock
  };

  /** Ask /me again (and the ammunition types); with no answer, show what the phone last knew. */
  async function refreshMe() {
    if (!auth()) return;
    const sent = Date.now();
    let data;
    try {
      data = await api('/me');
    } catch (err) {
      C.renderMe();
      return;
    }
    const received = Date.now();
    const phoneAtServerTime = (sent + received) / 2;
    session.clockOffsetS = (phoneAtServerTime - new Date(data.server_time).getTime()) / 1000;
    session.me = data;
    session.meAt = received;
    save(ME_KEY, { me: session.me, meAt: session.meAt, clockOffsetS: session.clockOffsetS, username: auth().username });
    C.renderMe();
    api('/ammo/types').then((d) => { save(AMMO_KEY, d.items || []); C.renderAmmoRows(); }).catch(() => {});
    if (data.point) {
      api(`/points/${encodeURIComponent(data.point.code)}/ammo`).then((d) => {
        save(POINT_AMMO_KEY, { point_code: data.point.code, types: Object.keys(d.stock || {}) });
        C.renderAmmoRows();
      }).catch(() => {});
      // the no-fire zones within its range, for the report form's warning (also with no signal)
      api(`/points/${encodeURIComponent(data.point.code)}/zones`).then((d) => {
        save(ZONES_KEY, { point_code: data.point.code, items: d.items || [] });
        C.renderSectorState();
      }).catch(() => {});
    }
    if (C.pollAirspace) C.pollAirspace(true);
    if (C.pollOrders) C.pollOrders(true);   // the round may have changed: its orders at once
  }

  function serverNow() { return Date.now() - session.clockOffsetS * 1000; }

  Object.assign(C, {
    AUTH_KEY, ME_KEY, AMMO_KEY, POINT_AMMO_KEY, ZONES_KEY, load, save, auth, HttpError, api, session, refreshMe, serverNow,
  });
}(window.OpsCrew));
