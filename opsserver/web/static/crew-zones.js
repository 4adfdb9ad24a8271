/* The crew page's no-fire zones: the zones near my point, and the warning on the report form before sending.
 *
 * With the other point data (crew-api.js's refreshMe) it asks GET /api/v1/points/{code}/zones: the zones within
 * the point's maximum range, each with `blocked`, the clockwise azimuth intervals whose firing line comes within
 * the zone's buffer (the server's one rule, rules/zones.py, computes them). The answer is kept in localStorage,
 * so the warning shows with no signal too. While the azimuth is typed, the report form names each zone whose
 * blocked interval holds it, judged by the sector predicate of rules.js (window.OpsRules.inSector: an azimuth in
 * a clockwise interval, edges included), and says the report will be flagged: a firing is a field fact, recorded
 * whatever it hits.
 */
(function (C) {
  'use strict';

  const { $, S, fmt, el, show, fill, api, load, save, session } = C;
  const { inSector } = window.OpsRules;

  const ZONES_KEY = 'crew.zones';   // {point_code, items, at}: the server's last answer for my point

  /** A bearing as the page writes it: whole degrees, or one decimal when it has one. */
  const deg = (x) => String(Math.round(Number(x) * 10) / 10);

  /** The kept zones of my point (none for another point's, or before any answer). */
  function pointZones() {
    const kept = load(ZONES_KEY);
    const me = session.me;
    return kept && me && me.point && kept.point_code === me.point.code ? kept.items || [] : [];
  }

  /** Each zone whose blocked azimuths hold `az`, with the interval that holds it (nearest zone first). */
  function zoneConflicts(az, items) {
    const out = [];
    items.forEach((z) => {
      const hit = (z.blocked || []).find(([from, to]) => inSector(az, from, to));
      if (hit) out.push({ zone: z, from: hit[0], to: hit[1] });
    });
    return out;
  }

  /** The warning under the azimuth: one line per zone the firing line would threaten, then "it will be
   *  flagged"; hidden when the azimuth is empty, out of range or clear of every zone. */
  function renderZoneWarning(az) {
    const box = $('rp-zone-warning');
    const valid = typeof az === 'number' && !Number.isNaN(az) && az >= 0 && az <= 360;
    const hits = valid ? zoneConflicts(az, pointZones()) : [];
    box.dataset.zones = hits.map((h) => h.zone.zone_id).join(',');
    if (!hits.length) { box.replaceChildren(); show(box, false); return; }
    fill(box,
      el('ul', {}, hits.map((h) => el('li', {
        'data-zone-id': h.zone.zone_id, 'data-kind': h.zone.kind,
        // names and labels as text: a zone's name is whatever an administrator typed
        text: fmt(S.zone_warning, { kind: h.zone.label || h.zone.kind, name: h.zone.name, from: deg(h.from),
          to: deg(h.to) }),
      }))),
      el('p', { class: 'small', text: S.zone_flagged }));
    show(box, true);
  }

  /** Ask for my point's zones (with the other point data); with no answer the kept ones stay. */
  async function refreshZones(code) {
    try {
      const data = await api(`/points/${encodeURIComponent(code)}/zones`);
      save(ZONES_KEY, { point_code: code, items: data.items || [], at: Date.now() });
    } catch (err) {
      return;
    }
    if (C.renderSectorState) C.renderSectorState();
  }

  Object.assign(C, { ZONES_KEY, zoneConflicts, renderZoneWarning, refreshZones });
}(window.OpsCrew));
