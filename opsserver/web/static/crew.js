/* The crew phone page's start (templates/crew.html): sign in and out, and every listener and timer.
 *
 * Last of the crew page's scripts: crew-format, crew-api, crew-queue, crew-position, crew-screens, crew-airspace,
 * crew-orders and crew-forms have filled window.OpsCrew before it runs. It opens the page with what the phone
 * last knew (the cached /me answer), wires the buttons, tabs and network events, and registers the service worker
 * (crew-sw.js) that keeps the page's shell for opening with no signal.
 */
(function (C) {
  'use strict';

  const {
    $, S, body, show, fill, problemNode, phoneOffsetLabel, AUTH_KEY, ME_KEY, POINT_AMMO_KEY, AIRSPACE_KEY, ZONES_KEY,
    ORDERS_KEY, load, save, auth, pollOrders,
    api, HttpError, session,
    refreshMe, syncSoon, syncAgain, renderQueue, renderMe, renderNet, route, tick, renderAmmoRows, resetTimes,
    wireForms, startCheckin, sendCheckin, cancelCheckin, stopWatching,
  } = C;

  // --- sign in and out --------------------------------------------------------------------------

  /** The token was refused (401): keep who it was, ask for the password again to send what waits. */
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
      else if (e instanceof HttpError) { fill(err, problemNode(e.problem)); }
      else err.textContent = S.signin_offline;
      show(err, true);
      return;
    }
    $('signin-password').value = '';
    show($('session-warning'), false);
    const cached = load(ME_KEY);
    if (!cached || cached.username !== username) { session.me = null; localStorage.removeItem(ME_KEY); }
    await refreshMe();
    route();
    renderQueue();
    syncSoon(0);
  }

  function signOut() {
    localStorage.removeItem(AUTH_KEY);
    [ME_KEY, POINT_AMMO_KEY, AIRSPACE_KEY, ZONES_KEY, ORDERS_KEY].forEach((k) => localStorage.removeItem(k));
    session.me = null;
    stopWatching();
    route();
  }

  C.sessionExpired = sessionExpired;   // crew-api.js calls it on a 401

  /** A crew account signed in at /login: the server handed its sign-in over as a bearer token in a short-lived
   * cookie for this page (web/routes.py login); keep it as a sign-in here would, and drop the cookie. */
  function takeHandover() {
    const m = document.cookie.match(/(?:^|;\s*)crew_handover=([A-Za-z0-9_-]+)/);
    if (!m) return;
    document.cookie = 'crew_handover=; Max-Age=0; Path=/crew; SameSite=Strict';
    let t;
    try { t = JSON.parse(atob(m[1].replace(/-/g, '+').replace(/_/g, '/'))); } catch (e) { return; }
    if (!t || !t.access_token) return;
    const cached = load(ME_KEY);
    if (!cached || cached.username !== t.username) { session.me = null; localStorage.removeItem(ME_KEY); }
    save(AUTH_KEY, { token: t.access_token, expires_at: t.expires_at, username: t.username, role: t.role });
  }

  // --- start ------------------------------------------------------------------------------------

  function start() {
    takeHandover();
    const cached = load(ME_KEY);
    const a = auth();
    if (cached && a && cached.username === a.username) {
      ({ me: session.me, meAt: session.meAt, clockOffsetS: session.clockOffsetS } = cached);
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
    $('checkin-cancel').addEventListener('click', cancelCheckin);
    wireForms();
    $('btn-sync').addEventListener('click', syncAgain);
    document.querySelectorAll('.toast').forEach((t) => t.addEventListener('click', () => show(t, false)));
    document.querySelectorAll('#tabs button').forEach((b) => b.addEventListener('click', () => {
      location.hash = b.dataset.screen;
    }));
    window.addEventListener('hashchange', route);
    window.addEventListener('online', () => { renderNet(); syncAgain(); refreshMe(); pollOrders(); });
    window.addEventListener('offline', () => { renderNet(); renderMe(); });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && navigator.onLine) { syncSoon(0); refreshMe(); pollOrders(); }
    });
    setInterval(tick, 1000);
    setInterval(() => { if (navigator.onLine) refreshMe(); }, 60000);

    if (a) { refreshMe(); syncSoon(0); }
    pollOrders();   // what the phone last knew of the round's orders, then the server's answer
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register(body.dataset.sw, { scope: body.dataset.scope }).catch(() => {});
    }
  }

  start();
}(window.OpsCrew));
