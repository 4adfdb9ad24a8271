/* The crew page's screens: which one shows (the tabs), and what the home and queue screens say.
 *
 * Home: who I am, my certificate and shift, my point (sector, geofence, crew on site against its minimum,
 * judged by window.OpsRules.understaffed), the round and its open airspace window with a countdown, and the
 * phone's clock offset when it is wrong. Queue: every record on this phone with its state, the server's
 * flags or problem, and when the next try is due. The forms are crew-forms.js's.
 */
(function (C) {
  'use strict';

  const {
    $, S, STATES, body, fmt, el, show, showTime, showSpan, showDuration, countdown, reasonText, problemNode,
    auth, session, serverNow, allItems, nextTryAt,
  } = C;
  const { understaffed } = window.OpsRules;

  const CLOCK_WARN_S = 60;          // show the clock offset when it is over a minute

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
    const me = session.me;
    const w = me && me.round && me.round.open_window;
    if (!w) { box.replaceChildren(el('span', { class: 'muted', text: S.no_window })); return; }
    const left = (new Date(w.end).getTime() - serverNow()) / 1000;
    box.replaceChildren(
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
    if (session.me) renderWindow();
    if (nextTryAt()) renderQueue();
  }

  Object.assign(C, { renderQueue, markSending, renderMe, route, renderNet, tick });
}(window.OpsCrew));
