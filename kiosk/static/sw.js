// The kiosk's service worker: keeps the shell for offline use, one cache per shell version.
// The server writes the version and the file list into this file, so a new client means new
// bytes here, which is what makes the browser install the new worker. It waits (the old shell
// keeps running) until the page, at its start screen, says to take over. Only GETs of the shell
// are answered from the cache: API calls and every POST go to the network untouched.

const VERSION = '__SHELL_VERSION__';
const CACHE = `sipas-kiosk-shell-${VERSION}`;
const SHELL = [
  __SHELL_ASSETS__
];
const SCOPE = new URL(self.registration.scope).pathname; // "/kiosk/"

self.addEventListener('install', (event) => {
  // `no-cache`: revalidate with the server (a 304 when the page has just fetched the same file),
  // so the new cache never holds a stale file and a first visit does not download everything twice.
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-cache' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((name) => name.startsWith('sipas-kiosk-shell-') && name !== CACHE).map((name) => caches.delete(name)));
      // A first install controls the page at once (nothing older is running it).
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'activate') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  if (url.pathname.startsWith(`${SCOPE}api/`)) return;
  // The shell page under any query or fragment; the other files by path.
  const key = request.mode === 'navigate' ? SCOPE : url.pathname;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(key);
      return hit || fetch(request);
    })(),
  );
});
