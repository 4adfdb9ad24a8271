/* The safety rules the crew page checks in the browser: the firing sector, the geofence and the minimum crew.
 *
 * The same definitions as the Python package rules/ (sector.py, geofence.py, staffing.py), and tested
 * against the same JSON vectors (rules/vectors/*.json) by tests/js/rules.test.js under `node --test`.
 * A plain script for the page (it defines window.OpsRules) and a CommonJS module for Node. (The dashboard and the
 * status maps decide nothing: the status feed carries the rules' verdict, below_min_crew.)
 */
(function (root, factory) {
  'use strict';
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(() => require('geographiclib-geodesic'));
  } else {
    // The page loads geographiclib-geodesic's script first (it defines window.geodesic), when it needs distances.
    root.OpsRules = factory(() => root.geodesic);
  }
}(typeof self !== 'undefined' ? self : this, (geodesicLib) => {
  'use strict';

  const FULL_CIRCLE_DEG = 360;
  const mod360 = (x) => ((x % FULL_CIRCLE_DEG) + FULL_CIRCLE_DEG) % FULL_CIRCLE_DEG;

  /** Clockwise width from start to end; 0 → 360 is the full circle, 300 → 40 crosses north (100°). */
  function sectorWidth(start, end) {
    if (end === start) return 0;
    const w = mod360(end - start);
    return w === 0 ? FULL_CIRCLE_DEG : w;
  }

  /** The azimuth lies in the clockwise sector from start to end, edges included. */
  function inSector(az, start, end) {
    const w = sectorWidth(start, end);
    return w >= FULL_CIRCLE_DEG || mod360(az - start) <= w;
  }

  /** Geodesic distance on WGS-84 in metres (Karney's algorithm, geographiclib, as the server computes it). */
  function distanceM(lat1, lon1, lat2, lon2) {
    const g = geodesicLib().Geodesic;
    return g.WGS84.Inverse(lat1, lon1, lat2, lon2, g.DISTANCE).s12;
  }

  /** A position counts as at the point when it is no farther than the geofence radius. */
  function withinGeofence(distance, radiusM) {
    return distance <= radiusM;
  }

  /** Fewer certified crew on site than the point's minimum crew. */
  function understaffed(certifiedOnSite, minCrew) {
    return certifiedOnSite < minCrew;
  }

  return Object.freeze({ sectorWidth, inSector, distanceM, withinGeofence, understaffed });
}));
