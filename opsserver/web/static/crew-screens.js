/* The crew page's screens: which one shows (the tabs), and what the home and queue screens say.
 *
 * Home: who I am, my certificate and shift, whether I am on site at my point now (my phone's last check-in,
 * then the server's answer), my point (sector, geofence, crew on site against its minimum, judged by
 * window.OpsRules.understaffed), the round and its open airspace window with a countdown, and the phone's
 * clock offset when it is wrong. Queue: every record on this phone with its state, the server's flags or
 * problem, and when the next try is due. A record's confirmation stands above the tab bar and says "sent"
 * once it was. The forms are crew-forms.js's, the airspace request's state crew-airspace.js's.
 */
(function (C) {
  'use strict';

  const {
    $, S, STATES, body, fmt, el, show, fill, showTime, showSpan, showDuration, countdown, reasonText, problemNode,
    auth, session, serverNow, allItems, nextTryAt,
  } = C;
  const { understaffed, withinGeofence } = window.OpsRules;

  const CLOCK_WARN_S = 60;          // show the clock offset when it is over a minute
  const SENT_SHOWN_MS = 6000;       // a "sent" confirmation stays this long
  const QUEUED_SHOWN_MS = 12000;    // a "recorded" one too (the records say it waits); it comes back as "sent"

  let lastItems = [];               // this phone's records for the signed-in account, newest first
  const hideTimers = {};

  // --- the queue screen -----------------------------------------------------------------------------

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
    if (item.type === 'order_ack') return `${(item.local && item.local.text) || p.order_id} · ${showTime(p.acknowledged_at)}`;
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
    lastItems = items;
    renderConfirmations(items);
    renderOnSite();
    C.setLocalAirspace(items);
    C.setLocalOrders(items);
    const waiting = items.filter((i) => i.status === 'queued').length;
    const badge = $('pending-badge');
    badge.textContent = waiting;
    show(badge, waiting > 0);
    let summary = waiting ? `${waiting} ${S.pending}` : S.queue_empty;
    const retryAt = nextTryAt();
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

  // --- confirmations: above the tab bar, "sent" once the server has it -----------------------------

  /** Confirm a record on screen `id`'s message: recorded (sending or waiting for signal), until it is sent. */
  function confirmRecorded(id, item) {
    const m = $(id);
    clearTimeout(hideTimers[id]);
    m.dataset.item = item.id;
    m.className = 'toast';
    m.textContent = navigator.onLine ? S.recorded_sending : S.recorded;
    show(m, true);
    hideTimers[id] = setTimeout(() => show(m, false), QUEUED_SHOWN_MS);
    renderConfirmations(lastItems);
  }

  function renderConfirmations(items) {
    document.querySelectorAll('.toast[data-item]').forEach((m) => {
      const item = items.find((i) => i.id === m.dataset.item);
      if (!item || item.status === 'queued') return;
      const says = { sent: S.sent_ok, flagged: S.sent_flagged, refused: S.sent_refused };
      m.textContent = says[item.status] || S.sent_ok;
      m.className = `toast ${item.status}`;
      delete m.dataset.item;
      show(m, true);
      clearTimeout(hideTimers[m.id]);
      hideTimers[m.id] = setTimeout(() => show(m, false), SENT_SHOWN_MS);
    });
  }

  /** The records waiting in the list are on their way (a sync request is starting). */
  function markSending() {
    document.querySelectorAll('#queue-list li[data-status="queued"]').forEach((li) => li.classList.add('sending'));
  }

  // --- the home screen: who I am, my shift, my point, the round --------------------------------------

  function renderClock() {
    const box = $('clock-warning');
    const { me, clockOffsetS } = session;
    if (!me || Math.abs(clockOffsetS) <= CLOCK_WARN_S) { show(box, false); return; }
    const text = fmt(clockOffsetS > 0 ? S.clock_ahead : S.clock_behind, { offset: showDuration(clockOffsetS) });
    box.textContent = `${text} ${S.clock_fix}`;
    box.dataset.offsetS = Math.round(clockOffsetS);
    show(box, true);
  }

  // --- on site now: my phone's last check-in, or the server's answer when it is newer ------------------

  function renderOnSite() {
    const box = $('onsite');
    const { me, meAt } = session;
    const p = me && me.point;
    if (!p) { box.replaceChildren(); delete box.dataset.onsite; return; }
    const last = lastItems.find((i) => i.type === 'checkin' && i.status !== 'refused');
    const fromPhone = last && (last.status === 'queued' || last.created_at > meAt);
    let on;
    let since = null;
    let why = null;
    if (fromPhone) {
      const q = last.payload;
      const inside = last.result && last.result.within_geofence !== undefined ? last.result.within_geofence
        : withinGeofence((last.local || {}).distance_m, p.geofence_m);
      on = q.point_code === p.code && q.kind === 'arrive' && inside;
      if (on) since = q.recorded_at;
      if (q.point_code === p.code && q.kind === 'arrive' && !inside) why = S.onsite_outside;
      if (last.status === 'queued') why = why ? `${why} · ${S.onsite_unsent}` : S.onsite_unsent;
    } else {
      const mine = (p.on_site || []).find((x) => x.crew_id === me.crew_id);
      on = !!mine;
      if (mine) since = mine.arrived_at;
    }
    box.dataset.onsite = on ? 'yes' : 'no';
    box.dataset.source = fromPhone ? 'phone' : 'server';
    box.className = `onsite ${on ? 'yes' : 'no'}`;
    fill(box,
      el('b', { text: fmt(on ? S.onsite_yes : S.onsite_no, { code: p.code }) }),
      since ? ` · ${fmt(S.onsite_since, { time: showTime(since) })}` : '',
      why ? el('div', { class: 'small', text: why }) : '');
  }

  function renderMe() {
    renderClock();
    const { me, meAt, clockOffsetS } = session;
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
    fill($('me-shift'), shift
      ? el('div', { class: `shift ${shift.on_now ? 'now' : 'next'}` },
        el('b', { text: shift.on_now ? S.shift_now : S.shift_next }), ' ',
        `${shift.point_code} · ${S[shift.position] || shift.position} · ${showSpan(shift.starts_at, shift.ends_at)}`)
      : el('div', { class: 'muted', text: S.no_shift }));

    const p = me.point;
    $('hdr-point').textContent = p ? p.code : '';
    $('point-code').textContent = p ? p.code : '';
    $('point-name').textContent = p ? p.name : S.no_point;
    fill($('point-facts'), ...(p ? [
      el('span', { text: `${S.sector} ${p.sector_start_deg}° → ${p.sector_end_deg}° (${S.clockwise})` }),
      el('span', { text: `${S.geofence} ${Math.round(p.geofence_m)} m` }),
      el('span', { class: understaffed(p.crew_on_site, p.min_crew) ? 'short' : '', text: `${S.crew_on_site} ${p.crew_on_site} / ${p.min_crew}` }),
    ] : []));
    ['btn-arrive', 'btn-depart'].forEach((id) => { $(id).disabled = !p; });

    const r = me.round;
    fill($('round-info'), r
      ? el('div', {}, el('span', { class: `dot ${r.colour}` }), el('b', { text: r.name }), ' · ',
        el('span', { id: 'round-state', 'data-state': r.state, text: STATES[r.state] || r.state }))
      : el('div', { class: 'muted', text: S.no_round }));
    const roundText = r ? `${r.name} · ${STATES[r.state] || r.state}` : S.no_round_form;
    $('airspace-round').textContent = roundText;
    $('report-round').textContent = roundText;
    $('report-sector').textContent = p ? `${p.sector_start_deg}° → ${p.sector_end_deg}° (${S.clockwise})` : '—';
    renderWindow();
    renderOnSite();
    C.renderAirspace();
    C.renderOrders();
    const stale = !navigator.onLine || (Date.now() - meAt > 5 * 60 * 1000);
    $('me-updated').textContent = `${S.last_update} ${showTime(new Date(meAt - clockOffsetS * 1000))}${stale ? ` · ${S.stale}` : ''}`;
  }

  const FINISHED = ['done', 'declined', 'stood_down', 'rejected'];   // states with nothing left to count down

  function renderWindow() {
    const box = $('window-info');
    const me = session.me;
    const w = me && me.round && me.round.open_window;
    if (!w) { fill(box, el('span', { class: 'muted', text: S.no_window })); box.classList.remove('ending'); return; }
    const left = (new Date(w.end).getTime() - serverNow()) / 1000;
    if (FINISHED.includes(me.round.state)) {
      // "done" (or stood down) beside a running countdown would say two things at once: the window, no clock
      fill(box, el('div', { class: 'muted', text: fmt(S.window_until, { time: showTime(w.end) }) }),
        w.reference ? el('div', { class: 'muted', text: `${S.window_ref} ${w.reference}` }) : null);
      box.classList.remove('ending');
      return;
    }
    fill(box,
      el('div', {}, showSpan(w.start, w.end)),
      el('div', { class: 'countdown' }, `${S.window_ends_in} `, el('b', { id: 'window-countdown', text: countdown(left) })),
      w.reference ? el('div', { class: 'muted', text: `${S.window_ref} ${w.reference}` }) : null);
    box.classList.toggle('ending', left < 600);
  }

  // --- which screen, the signal, the clock tick -------------------------------------------------------

  const SCREENS = ['home', 'airspace', 'report', 'queue'];

  function route() {
    const signedIn = !!auth();
    const wanted = (location.hash || '#home').slice(1);
    const screen = signedIn ? (SCREENS.includes(wanted) ? wanted : 'home') : 'signin';
    document.querySelectorAll('.screen').forEach((s) => show(s, s.id === `screen-${screen}`));
    show($('tabs'), signedIn);
    document.querySelectorAll('#tabs button').forEach((b) => b.classList.toggle('on', b.dataset.screen === screen));
    body.dataset.screen = screen;
    if (screen === 'airspace' || screen === 'report') C.resetTimes();
    window.scrollTo(0, 0);
  }

  function renderNet() {
    const net = $('net');
    net.textContent = navigator.onLine ? S.online : S.offline;
    net.className = `net ${navigator.onLine ? 'on' : 'off'}`;
  }

  function tick() {
    if (session.me) { renderWindow(); C.renderAirspace(); }
    if (nextTryAt()) renderQueue();
  }

  Object.assign(C, { renderQueue, markSending, renderMe, route, renderNet, tick, confirmRecorded });
}(window.OpsCrew));
