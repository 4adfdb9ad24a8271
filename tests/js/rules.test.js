/* The crew page's rules (opsserver/web/static/rules.js) against the vectors the Python tests run.
 *
 * Node's own test runner: `node --test tests/js/rules.test.js` (tests/test_rules_vectors.py runs it).
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const OpsRules = require('../../opsserver/web/static/rules.js');

const vectors = (name) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'rules', 'vectors',
  `${name}.json`), 'utf8'));
const sector = vectors('sector');
const geofence = vectors('geofence');
const staffing = vectors('staffing');

for (const c of sector.width) {
  test(`sector width: ${c.case}`, () => assert.equal(OpsRules.sectorWidth(c.start, c.end), c.width));
}
for (const c of sector.in_sector) {
  test(`in sector: ${c.case}`, () => assert.equal(OpsRules.inSector(c.azimuth, c.start, c.end), c.inside));
}
for (const c of geofence.distance) {
  test(`distance: ${c.case}`, () => {
    const d = OpsRules.distanceM(...c.from, ...c.to);
    assert.ok(Math.abs(d - c.metres) <= geofence.tolerance_m, `${d} m, expected ${c.metres} m`);
  });
}
for (const c of geofence.within) {
  test(`within geofence: ${c.case}`, () => assert.equal(OpsRules.withinGeofence(c.distance, c.radius), c.inside));
}
for (const c of geofence.checkin) {
  test(`check-in position: ${c.case}`, () => {
    const d = OpsRules.distanceM(...c.at, ...c.point);
    assert.equal(OpsRules.withinGeofence(d, c.radius), c.inside);
  });
}
for (const c of staffing.understaffed) {
  test(`understaffed: ${c.case}`, () => assert.equal(OpsRules.understaffed(c.certified_on_site, c.min_crew),
    c.understaffed));
}
