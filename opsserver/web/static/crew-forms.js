/* The crew page's forms: the airspace request and the firing report, with the clearance check before firing.
 *
 * Each form checks its input on the page first (one message per bad field, in the crew's language), then
 * puts the record in the queue (crew-queue.js). While the azimuth is typed the report shows whether it is
 * inside the point's safe sector (window.OpsRules.inSector from rules.js) and names each no-fire zone its firing
 * line would come within the buffer of (the same predicate over the zone's `blocked` azimuths, which the server
 * computed: GET /points/{code}/zones, kept by crew-api.js), and asks the server's clearance
 * (GET /points/{code}/clearance) once azimuth and elevation are both given.
 */
(function (C) {
  'use strict';

  const {
    $, S, FIELDS, fmt, el, show, fill, isoLocal, inputValue, showSpan, reasonText, problemNode, ammoName,
    api, load, AMMO_KEY, POINT_AMMO_KEY, ZONES_KEY, HttpError, session, uuid, enqueue, confirmRecorded,
  } = C;
  const { inSector } = window.OpsRules;

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
    const me = session.me;
    if (me && me.round && me.point) return true;
    setError(form, '_form', S.no_round_form);
    return false;
  }

  // --- the airspace request -------------------------------------------------------------------------

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
    const me = session.me;
    const payload = {
      id: uuid(), round_id: me.round.id, point_code: me.point.code, window_start: isoLocal(new Date(start.value)),
      duration_min: duration,
    };
    if (height !== null) payload.max_height_m = height;
    confirmRecorded('airspace-message', await enqueue('airspace_request', payload));
  }

  // --- aim, sector, no-fire zones and clearance -------------------------------------------------------

  /** Each zone whose blocked azimuths (clockwise intervals) hold `az`, with the interval that does. */
  function zoneConflicts(az, items) {
    const out = [];
    items.forEach((z) => {
      const hit = (z.blocked || []).find(([from, to]) => inSector(az, from, to));
      if (hit) out.push({ zone: z, from: hit[0], to: hit[1] });
    });
    return out;
  }

  const deg = (x) => String(Math.round(Number(x) * 10) / 10);

  /** One line per zone the firing line would threaten, and "it will be flagged" (a firing is a field fact:
   *  recorded whatever it hits); hidden when the azimuth is clear. Names as text: an administrator typed them. */
  function renderZoneWarning(az) {
    const box = $('rp-zone-warning');
    const kept = load(ZONES_KEY);
    const me = session.me;
    const items = kept && me && me.point && kept.point_code === me.point.code ? kept.items : [];
    const hits = az === null || Number.isNaN(az) || az < 0 || az > 360 ? [] : zoneConflicts(az, items);
    box.dataset.zones = hits.map((h) => h.zone.zone_id).join(',');
    const line = (h) => fmt(S.zone_warning, { kind: h.zone.label || h.zone.kind, name: h.zone.name, from: deg(h.from),
      to: deg(h.to) });
    fill(box, ...(hits.length ? [el('ul', {}, hits.map((h) => el('li', { 'data-zone-id': h.zone.zone_id, text: line(h) }))),
      el('p', { class: 'small', text: S.zone_flagged })] : []));
    show(box, hits.length > 0);
  }

  function renderSectorState() {
    const box = $('rp-sector-state');
    const az = numberOf($('rp-azimuth'));
    const me = session.me;
    renderZoneWarning(az);
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
    const me = session.me;
    if (!aim || !me || !me.point) { box.replaceChildren(); return; }
    if (!navigator.onLine) { fill(box, el('p', { class: 'warn-text', text: S.clearance_offline })); return; }
    const seq = ++clearanceSeq;
    fill(box, el('p', { class: 'muted', text: S.checking }));
    try {
      const q = new URLSearchParams({ azimuth: aim.az, elevation: aim.elv });
      const ans = await api(`/points/${encodeURIComponent(me.point.code)}/clearance?${q}`);
      if (seq !== clearanceSeq) return;
      box.dataset.cleared = ans.cleared;
      fill(box,
        el('p', { class: ans.cleared ? 'cleared yes' : 'cleared no', text: ans.cleared ? S.cleared_yes : S.cleared_no }),
        ans.reasons && ans.reasons.length
          ? el('ul', { class: 'flags' }, ans.reasons.map((r) => el('li', { 'data-code': r.code, text: reasonText(r) })))
          : null,
        ans.window ? el('p', { class: 'muted', text: showSpan(ans.window.start, ans.window.end) }) : null);
    } catch (err) {
      if (seq !== clearanceSeq) return;
      delete box.dataset.cleared;
      fill(box, err instanceof HttpError ? problemNode(err.problem)
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

  // --- the firing report ----------------------------------------------------------------------------

  /** The catalogue's types that my point holds (its ledger names them), or every type when it names none. */
  function pointTypes() {
    const all = load(AMMO_KEY) || [];
    const held = load(POINT_AMMO_KEY);
    const me = session.me;
    if (!held || !me || !me.point || held.point_code !== me.point.code || !held.types.length) return all;
    const mine = all.filter((t) => held.types.includes(t.code));
    return mine.length ? mine : all;
  }

  function renderAmmoRows() {
    const box = $('ammo-rows');
    const types = pointTypes();
    const kept = {};
    box.querySelectorAll('.ammo-row').forEach((row) => {
      kept[row.dataset.type] = [row.querySelector('.fired').value, row.querySelector('.duds').value];
    });
    fill(box, ...types.map((t) => {
      const [fired, duds] = kept[t.code] || ['', ''];
      return el('div', { class: 'ammo-row', 'data-type': t.code },
        el('span', { class: 'ammo-name', text: ammoName(t) }, el('span', { class: 'muted', text: ` ${t.code}` })),
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
    const me = session.me;
    const payload = {
      id: uuid(), round_id: me.round.id, point_code: me.point.code,
      started_at: isoLocal(new Date(start.value)), ended_at: isoLocal(new Date(end.value)),
      azimuth_deg: aim.az, elevation_deg: aim.elv, ammo, cloud_type: $('rp-cloud').value || null, notes: notes || null,
    };
    const item = await enqueue('report', payload);
    form.reset();
    form.querySelectorAll('.ammo-row input').forEach((i) => { i.value = ''; });
    resetTimes();
    renderSectorState();
    $('clearance-answer').replaceChildren();
    confirmRecorded('report-message', item);
  }

  function resetTimes() {
    // a firing's times to the second: it ended now and began a minute before, or when the round became active
    // if that was later (a report starting before it is refused); fields the crew has not touched follow the clock, so that opening the
    // form later gives the time then
    const now = new Date();
    const r = session.me && session.me.round;
    // (in phone time, rounded up to the second the input keeps, and never after the end)
    const active = r && r.activated_at ? Date.parse(r.activated_at) + session.clockOffsetS * 1000 + 1000 : 0;
    const began = new Date(Math.min(now.getTime(), Math.max(now.getTime() - 60000, active)));
    [['as-start', now, false], ['rp-start', began, true], ['rp-end', now, true]].forEach(([id, at, seconds]) => {
      const input = $(id);
      if (!input.value || input.dataset.touched !== '1') {
        input.value = inputValue(at, seconds);
        delete input.dataset.touched;
      }
    });
  }

  /** The forms' listeners: touched times, a field's message going when it is edited, submit, aim. */
  function wireForms() {
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
  }

  Object.assign(C, { renderAmmoRows, renderSectorState, resetTimes, wireForms, zoneConflicts });
}(window.OpsCrew));
