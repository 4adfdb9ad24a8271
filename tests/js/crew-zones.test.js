/* The crew page's no-fire zone check (zoneConflicts in opsserver/web/static/crew-forms.js) against cases the
 * server's rule made.
 *
 * tests/test_crew_zones.py computes the cases with rules/zones.py (each zone's `blocked` azimuths, and for each
 * azimuth the zones the firing line comes within the buffer of) and runs this file with Node's own runner:
 * `CREW_ZONE_CASES=<cases.json> node --test tests/js/crew-zones.test.js`. The page's check is rules.js's
 * sector predicate over `blocked`: it must name exactly the zones the server would flag.
 */
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');

// crew-forms.js is a page script: it adds to window.OpsCrew and reads window.OpsRules (nothing runs on load)
global.window = { OpsRules: require('../../opsserver/web/static/rules.js'), OpsCrew: {} };
require('../../opsserver/web/static/crew-forms.js');

const { zoneConflicts } = window.OpsCrew;
const file = process.env.CREW_ZONE_CASES;

if (!file) {
  test('crew zones: no cases', { skip: 'run by tests/test_crew_zones.py (CREW_ZONE_CASES names the cases)' }, () => {});
} else {
  for (const scene of JSON.parse(fs.readFileSync(file, 'utf8')).scenes) {
    for (const c of scene.cases) {
      test(`${scene.name}, azimuth ${c.azimuth}°`, () => {
        const named = zoneConflicts(c.azimuth, scene.items).map((h) => h.zone.zone_id).sort((a, b) => a - b);
        assert.deepEqual(named, [...c.zones].sort((a, b) => a - b));
      });
    }
  }
}
