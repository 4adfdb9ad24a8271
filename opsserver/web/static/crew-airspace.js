/* The crew page's airspace request as air traffic control answers it: queued, pending, approved, rejected.
 *
 * The newest request of my point in the round is shown on the airspace screen (and, while it is not an open
 * window, which the home screen shows already, on the home screen): queued (on this phone, not sent yet),
 * pending (sent, waiting for ATC), approved (the window, ATC's reference and a countdown to its start or end),
 * rejected (the reason in the page's language), ended early or withdrawn. It asks GET /api/v1/airspace
 * (round_id and point_code filters) every few seconds while a request is pending, or approved and not ended
 * (an early termination means "stop firing now"), and the page is seen; it backs off when there is no answer. The last answer is kept in
 * localStorage so that the page opens with no signal showing what it last knew.
 */
(function (C) {
  'use strict';

  const {
    $, S, REASONS, el, show, fill, showTime, showSpan, countdown, problemNode, api, load, save, auth, session,
    serverNow,
  } = C;

  const AIRSPACE_KEY = 'crew.airspace';
  const PENDING_POLL_MS = 2500;     // a decision shows within seconds
  const APPROVED_POLL_MS = 5000;    // an early termination ("stop firing now") shows within seconds too
  const MAX_POLL_MS = 60000;        // the longest wait after failed tries

  let known = load(AIRSPACE_KEY);   // {round_id, point_code, items, at}: the server's last answer
  let local = [];                   // this phone's airspace records (from the queue)
  let timer = null;
  let polling = false;
  let failures = 0;

  function here() {
    const me = session.me;
    return me && me.round && me.point ? { round: me.round.id, point: me.point.code } : null;
  }

  /** The newest request of my point in this round: the server's answer wins over the phone's own record. */
  function latest() {
    const ctx = here();
    if (!ctx) return null;
    const rows = new Map();
    const fromServer = known && known.round_id === ctx.round && known.point_code === ctx.point ? known.items : [];
    fromServer.forEach((r) => rows.set(r.id, { server: r, at: Date.parse(r.created_at) + session.clockOffsetS * 1000 }));
    local.filter((i) => i.payload.round_id === ctx.round && i.payload.point_code === ctx.point).forEach((i) => {
      if (rows.has(i.id)) return;
      rows.set(i.id, { item: i, server: i.result && i.result.status ? i.result : null, at: i.created_at });
    });
    return [...rows.values()].sort((x, y) => y.at - x.at)[0] || null;
  }

  function stateOf(row) {
    if (row.item && row.item.status === 'queued') return 'queued';
    if (row.item && row.item.status === 'refused') return 'refused';
    return (row.server && row.server.status) || 'pending';
  }

  /** The approved window (start, effective end), or null. */
  function windowOf(row) {
    const r = row.server;
    if (!r || !r.approved_start) return null;
    return { start: Date.parse(r.approved_start), end: Date.parse(r.effective_end || r.approved_end) };
  }

  function asked(row) {
    if (row.server) return showSpan(row.server.window_start, row.server.window_end);
    const p = row.item.payload;
    const start = new Date(p.window_start);
    return showSpan(start, new Date(start.getTime() + (p.duration_min || 0) * 60000));
  }

  /** The card's lines for a request in a state; `ids`: give the countdown its id (one screen only). */
  function lines(row, state, ids) {
    const r = row.server || {};
    const out = [el('div', { class: 'as-head' }, el('b', { text: S[`as_${state}`] || state }))];
    if (state === 'queued') out.push(el('div', { class: 'muted', text: S.as_queued_note }));
    if (['queued', 'pending', 'rejected', 'refused', 'cancelled'].includes(state)) {
      out.push(el('div', { class: 'as-asked', text: `${S.as_asked} ${asked(row)}` }));
    }
    if (state === 'refused' && row.item.problem) out.push(problemNode(row.item.problem));
    if (state === 'approved' || state === 'terminated') {
      const w = windowOf(row);
      out.push(el('div', { class: 'as-window', text: `${S.as_window} ${showSpan(new Date(w.start), new Date(w.end))}` }));
      if (r.reference) out.push(el('div', { class: 'as-ref', text: `${S.window_ref} ${r.reference}` }));
      if (state === 'terminated') {
        out.push(el('div', { class: 'as-ended', text: showTime(r.terminated_at) }));
      } else {
        const now = serverNow();
        if (now >= w.end) out.push(el('div', { class: 'as-ended', text: S.as_ended }));
        else {
          const opens = now < w.start;
          out.push(el('div', { class: 'countdown' }, `${opens ? S.as_opens_in : S.window_ends_in} `,
            el('b', { id: ids ? 'airspace-countdown' : null, text: countdown(((opens ? w.start : w.end) - now) / 1000) })));
        }
      }
    }
    if (state === 'rejected') {
      const why = [REASONS[r.reason] || '', r.reason_detail || ''].filter(Boolean).join(' · ');
      if (why) out.push(el('div', { class: 'as-reason', text: why }));
    }
    return out;
  }

  /** Is the request an open window (which the home screen shows from /me with its countdown)? */
  function openNow(row, state) {
    const w = state === 'approved' && windowOf(row);
    const now = serverNow();
    return !!w && w.start <= now && now < w.end;
  }

  function render() {
    const row = latest();
    const card = $('airspace-status');
    const home = $('home-airspace');
    if (!row) {
      show(card, false);
      show(home, false);
      return;
    }
    const state = stateOf(row);
    card.dataset.status = state;
    card.className = `card airspace-status ${state}`;
    const checked = known && known.at && row.server ? el('div', { class: 'muted small',
      text: `${S.as_checked} ${showTime(new Date(known.at - session.clockOffsetS * 1000))}` }) : null;
    fill(card, ...lines(row, state, true), checked || '');
    show(card, true);
    home.dataset.status = state;
    home.className = `airspace-status ${state}`;
    const onHome = !openNow(row, state) && !(state === 'approved' && serverNow() >= windowOf(row).end);
    if (onHome) fill(home, ...lines(row, state, false));
    show(home, onHome);
    if (!timer) schedule();
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    const row = latest();
    const state = row && stateOf(row);
    let ms = null;
    if (state === 'pending') ms = PENDING_POLL_MS;
    else if (state === 'approved' && serverNow() < windowOf(row).end) ms = APPROVED_POLL_MS;
    if (ms === null) return;
    if (failures || !navigator.onLine) ms = Math.min(MAX_POLL_MS, ms * 2 ** Math.min(Math.max(failures, 1), 5));
    timer = setTimeout(() => { timer = null; pollAirspace(); }, ms);
  }

  const statusKey = () => { const row = latest(); return row ? `${row.server ? row.server.id : row.item.id}:${stateOf(row)}` : ''; };

  /** Is there anything to ask about? Not when the server's last answer for this round is here, nothing is
   *  pending or open, and /me shows no request at the point (one may come from the command centre). */
  function worthAsking(ctx) {
    const fresh = known && known.round_id === ctx.round && known.point_code === ctx.point;
    const row = latest();
    const state = row && stateOf(row);
    return !fresh || ['pending', 'approved'].includes(state) || ['requested', 'cleared'].includes(session.me.round.state);
  }

  /** Ask the server now for my point's requests in this round (when signed in, online and seen); `soft`:
   *  only when there is something to ask about (each /me answer asks so). */
  async function pollAirspace(soft) {
    const ctx = here();
    if (!ctx || !auth() || polling || (soft === true && !worthAsking(ctx))) return;
    if (!navigator.onLine || document.visibilityState !== 'visible') { schedule(); return; }
    polling = true;
    const before = statusKey();
    try {
      const q = new URLSearchParams({ round_id: ctx.round, point_code: ctx.point, limit: 1000 });
      const data = await api(`/airspace?${q}`);
      known = { round_id: ctx.round, point_code: ctx.point, items: data.items || [], at: Date.now() };
      save(AIRSPACE_KEY, known);
      failures = 0;
    } catch (err) {
      failures += 1;
    } finally {
      polling = false;
    }
    render();
    schedule();
    // the decision moves the point's state and its open window: ask /me at once rather than in a minute
    if (before && statusKey() !== before) C.refreshMe();
  }

  /** The phone's queue changed: its airspace records are what `latest` merges with the server's answer. */
  function setLocalAirspace(items) {
    const a = auth();
    local = items.filter((i) => i.type === 'airspace_request' && (!a || i.username === a.username));
    render();
  }

  Object.assign(C, { pollAirspace, renderAirspace: render, setLocalAirspace, AIRSPACE_KEY });
}(window.OpsCrew));
