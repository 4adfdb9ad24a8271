/* The crew page's service worker (served as /crew/sw.js, scope /crew).
 *
 * It keeps the page shell and its assets in a cache so that the page opens with no signal (the assets fetched
 * at the versioned URLs the page names, which the browser holds already). Network first:
 * with a signal the phone always gets the current page (and its language); with none, or when the network
 * does not answer within a few seconds, the cached copy. The API is never cached: the page keeps its own
 * queue in IndexedDB and sends it through /api/v1/sync.
 */
'use strict';

// v2: rules.js joined the shell; v3: crew.js split into crew-*.js; v4: crew-airspace.js, the night theme, the toasts;
// v5: the no-fire zone warning on the report form; v6: crew-orders.js, the command centre's orders
const CACHE = 'crew-shell-v6';
const NETWORK_TIMEOUT_MS = 4000;
const at = (path) => new URL(path, self.location).href;   // relative to /crew/sw.js, so a URL prefix is kept
const SHELL = at('../crew');
const ASSETS = [
  at('../static/web/crew-format.js'),
  at('../static/web/crew-api.js'),
  at('../static/web/crew-queue.js'),
  at('../static/web/crew-position.js'),
  at('../static/web/crew-screens.js'),
  at('../static/web/crew-airspace.js'),
  at('../static/web/crew-orders.js'),
  at('../static/web/crew-forms.js'),
  at('../static/web/crew.js'),
  at('../static/web/rules.js'),
  at('../static/web/crew.css'),
  at('../static/web/crew-icon.png'),
  at('../vendor/idb/build/umd.js'),
  at('../vendor/geographiclib-geodesic/geographiclib-geodesic.min.js'),
  at('manifest.webmanifest'),
];

/** The shell and its assets into the cache, each under its path (as the fetch handler looks them up). An asset
 *  is fetched at the URL the page names (`?v=<hash>`: the page's own load left it in the HTTP cache, so the
 *  phone does not download it twice on a field network), or at its plain path when the page does not name it.
 *  The shell too is taken from the HTTP cache when the page's own load left it there (`force-cache`: the page
 *  that registers this worker has just been loaded; a shell kept from longer ago is replaced by the next load
 *  with signal, which the fetch handler takes from the network first). */
async function precache() {
  const cache = await caches.open(CACHE);
  const shell = await fetch(SHELL, { credentials: 'same-origin', cache: 'force-cache' });
  if (!shell.ok) throw new Error(`${SHELL}: ${shell.status}`);
  const html = await shell.clone().text();
  await cache.put(SHELL, shell);
  const named = new Map();
  for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    const url = new URL(m[1].replace(/&amp;/g, '&'), SHELL);
    if (ASSETS.includes(url.origin + url.pathname)) named.set(url.origin + url.pathname, url.href);
  }
  await Promise.all(ASSETS.map(async (path) => {
    const resp = await fetch(named.get(path) || path, { credentials: 'same-origin' });
    if (!resp.ok) throw new Error(`${path}: ${resp.status}`);
    await cache.put(path, resp);
  }));
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('crew-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/** The network's answer (kept in the cache under `key`), or the cached copy when there is none in time. */
async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  const fromNetwork = fetch(request).then((resp) => {
    if (resp.ok) cache.put(key, resp.clone());
    return resp;
  });
  const timeout = new Promise((resolve) => { setTimeout(resolve, NETWORK_TIMEOUT_MS, null); });
  try {
    const resp = await Promise.race([fromNetwork, timeout]);
    if (resp) return resp;
  } catch (err) {
    // no signal: fall through to the cache
  }
  const cached = await cache.match(key);
  if (cached) return cached;
  return fromNetwork;   // nothing cached: wait for the network after all (or fail as the browser would)
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.origin + url.pathname;
  if (request.mode === 'navigate' && path === SHELL) {
    // /crew, /crew?lang=en …: one cached shell, the last one seen (in the language last chosen)
    event.respondWith(networkFirst(request, SHELL));
  } else if (ASSETS.includes(path)) {
    event.respondWith(networkFirst(request, path));
  }
});
