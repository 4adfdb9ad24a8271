/* The crew page's check-in: the phone's position, its accuracy and the distance to the point's geofence.
 *
 * It watches the GPS while the check-in panel is open, shows the geodesic distance to the point and whether
 * that is inside the geofence (window.OpsRules from rules.js: the rules' own definitions, not a copy), and
 * holds back a fix worse than GOOD_ACCURACY_M for LOW_ACCURACY_WAIT_S before it may be sent anyway (it
 * carries its accuracy). Sending puts the check-in in the queue (crew-queue.js).
 */
(function (C) {
  'use strict';

  const { $, S, fmt, show, isoLocal, uuid, enqueue, session } = C;
  const { distanceM, withinGeofence } = window.OpsRules;

  const GOOD_ACCURACY_M = 50;       // a fix better than this can be sent at once
  const LOW_ACCURACY_WAIT_S = 15;   // a worse one after this wait (it carries its accuracy)

  let watchId = null;
  let fix = null;
  let firstFixAt = 0;
  let checkinKind = null;
  let waitTimer = null;

  function stopWatching() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    clearInterval(waitTimer);
    waitTimer = null;
  }

  function startCheckin(kind) {
    stopWatching();
    checkinKind = kind;
    fix = null;
    firstFixAt = 0;
    show($('home-message'), false);
    show($('checkin-panel'), true);
    $('checkin-title').textContent = kind === 'arrive' ? S.checkin_arrive : S.checkin_depart;
    $('checkin-status').textContent = S.locating;
    ['checkin-distance', 'checkin-fence', 'checkin-accuracy'].forEach((id) => { $(id).textContent = ''; });
    show($('checkin-wait'), false);
    const send = $('checkin-send');
    send.disabled = true;
    send.textContent = S.send_checkin;
    if (!navigator.geolocation) { $('checkin-status').textContent = S.geo_none; return; }
    watchId = navigator.geolocation.watchPosition(onFix, onFixError,
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    waitTimer = setInterval(renderFix, 1000);
    $('checkin-panel').scrollIntoView({ block: 'nearest' });
  }

  function onFix(pos) {
    fix = pos;
    if (!firstFixAt) firstFixAt = Date.now();
    renderFix();
  }

  function onFixError(err) {
    $('checkin-status').textContent = err.code === 1 ? S.geo_denied : S.geo_unavailable;
  }

  function renderFix() {
    const me = session.me;
    if (!fix || !me || !me.point) return;
    const p = me.point;
    const c = fix.coords;
    const d = distanceM(c.latitude, c.longitude, p.latitude, p.longitude);
    const inside = withinGeofence(d, p.geofence_m);
    $('checkin-status').textContent = '';
    $('checkin-distance').textContent = `${fmt(S.distance, { code: p.code })}: ${Math.round(d)} m`;
    $('checkin-distance').dataset.distanceM = d.toFixed(1);
    const fence = $('checkin-fence');
    fence.textContent = fmt(inside ? S.inside : S.outside, { radius: Math.round(p.geofence_m) });
    fence.className = `fence ${inside ? 'inside' : 'outside'}`;
    fence.dataset.inside = inside;
    $('checkin-accuracy').textContent = fmt(S.accuracy, { acc: Math.round(c.accuracy) });
    const send = $('checkin-send');
    const wait = $('checkin-wait');
    if (c.accuracy <= GOOD_ACCURACY_M) {
      show(wait, false);
      send.disabled = false;
      send.textContent = S.send_checkin;
      return;
    }
    const left = LOW_ACCURACY_WAIT_S - Math.floor((Date.now() - firstFixAt) / 1000);
    show(wait, true);
    if (left > 0) {
      wait.textContent = `${S.low_accuracy} ${fmt(S.send_anyway_in, { s: left })}`;
      send.disabled = true;
    } else {
      wait.textContent = S.low_accuracy;
      send.disabled = false;
      send.textContent = S.send_anyway;
    }
  }

  async function sendCheckin() {
    const me = session.me;
    if (!fix || !me || !me.point) return;
    const c = fix.coords;
    const p = me.point;
    const payload = {
      id: uuid(), point_code: p.code, kind: checkinKind, latitude: c.latitude, longitude: c.longitude,
      accuracy_m: Math.round(c.accuracy * 10) / 10, recorded_at: isoLocal(new Date(fix.timestamp || Date.now())),
    };
    stopWatching();
    show($('checkin-panel'), false);
    const item = await enqueue('checkin', payload,
      { distance_m: distanceM(c.latitude, c.longitude, p.latitude, p.longitude) });
    C.confirmRecorded('home-message', item);   // crew-screens.js, loaded after this script
  }

  /** Close the check-in panel without sending (and stop the GPS). */
  function cancelCheckin() {
    stopWatching();
    show($('checkin-panel'), false);
  }

  Object.assign(C, { startCheckin, sendCheckin, cancelCheckin, stopWatching });
}(window.OpsCrew));
