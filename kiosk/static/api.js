// The server's kiosk API. Every call is bounded in time, sends no cookie and bypasses the HTTP
// cache; a network failure throws (the outbox counts it as "try again later").

const TIMEOUT_MS = 15000;
const BASE = new URL('api/', import.meta.url); // /kiosk/api/ wherever the app is mounted

async function call(path, { method = 'GET', token = null, body } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const response = await fetch(new URL(path, BASE), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: controller.signal,
    });
    let json = null;
    try {
      json = await response.json();
    } catch {
      json = null; // not JSON (a proxy's error page): the status alone decides
    }
    return { status: response.status, body: json };
  } finally {
    clearTimeout(timer);
  }
}

export const api = {
  enrol: (code) => call('enrol', { method: 'POST', body: { code } }),
  config: (token) => call('config', { token }),
  submit: (token, payload) => call('responses', { method: 'POST', token, body: payload }),
  heartbeat: (token, report) => call('heartbeat', { method: 'POST', token, body: report }),
};
