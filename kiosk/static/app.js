// The kiosk: one desk's walk-up survey on a tablet. It resets itself after each person and after
// a period without touch, saves every response on the tablet before sending it, and keeps working
// with no network (the service worker serves this shell, IndexedDB keeps the queue).

import { api } from './api.js';
import { isOpen, todayHours } from './hours.js';
import { Outbox, payloadOf } from './queue.js';
import * as screens from './screens.js';
import { KioskStore } from './store.js';
import { t } from './text.js';

const VERSION = document.querySelector('meta[name="sipas-kiosk-version"]').content;
const DRAIN_EVERY_MS = 30000;
const HOURS_CHECK_MS = 20000;
// A tap on an answer shows it chosen for this long before the next question appears.
const ADVANCE_MS = 180;
const root = document.getElementById('screen');
const statusLine = document.getElementById('status');

const kiosk = {
  store: null,
  outbox: null,
  token: null,
  config: null,
  revoked: false,
  clockOffset: 0,
  lastSyncAt: null,
  online: navigator.onLine,
  lang: 'vi',
  screen: 'loading',
  // The person at the tablet now: answers live only here (memory) until they press send.
  survey: null,
  idleTimer: null,
  thanksTimer: null,
  heartbeatTimer: null,
  enrolMessage: null,
  enrolling: false,
  registration: null,
  updateWaiting: null,
  reloading: false,
};

/** The time by the server's clock, as learnt at the last contact (tablet clocks drift). */
function now() {
  return Date.now() + kiosk.clockOffset;
}

function iso(ms) {
  return new Date(ms).toISOString();
}

function show(name, element) {
  kiosk.screen = name;
  document.documentElement.lang = kiosk.lang;
  document.documentElement.dataset.screen = name;
  root.replaceChildren(element);
  window.scrollTo(0, 0);
  document.dispatchEvent(new CustomEvent('kiosk:screen', { detail: { screen: name } }));
}

function setLanguage(lang) {
  kiosk.lang = lang;
  render();
  renderStatus();
}

// -- screens -------------------------------------------------------------------------------------

function render() {
  if (kiosk.screen === 'question') showQuestion();
  else if (kiosk.screen === 'enrol') showEnrol();
  else if (kiosk.screen === 'closed') showStart({ keepLanguage: true });
  else if (kiosk.screen === 'start') showStart({ keepLanguage: true });
}

/** Back to the start: whatever the last person did is dropped with its screen. */
function showStart({ keepLanguage = false } = {}) {
  clearTimeout(kiosk.idleTimer);
  clearTimeout(kiosk.thanksTimer);
  kiosk.survey = null;
  if (!keepLanguage) kiosk.lang = 'vi';
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  if (!kiosk.token || kiosk.revoked || !kiosk.config) return showEnrol();
  if (kiosk.updateWaiting && activateUpdate()) return undefined;
  const { settings } = kiosk.config;
  if (!isOpen(settings.opening_hours, now(), settings.time_zone)) {
    return show(
      'closed',
      screens.closedScreen({
        lang: kiosk.lang,
        config: kiosk.config,
        hoursToday: todayHours(settings.opening_hours, now(), settings.time_zone),
        onLang: setLanguage,
      }),
    );
  }
  return show('start', screens.startScreen({ lang: kiosk.lang, config: kiosk.config, onStart: startSurvey, onLang: setLanguage }));
}

function startSurvey() {
  goFullScreen();
  kiosk.survey = {
    id: crypto.randomUUID(),
    // A snapshot: a new questionnaire version arriving now waits for the next person.
    form: kiosk.config.questionnaire,
    desk: kiosk.config.desk.code,
    idleMs: kiosk.config.settings.idle_seconds * 1000,
    startedAt: now(),
    answers: {},
    index: 0,
    missing: false,
    advancing: false,
    sending: false,
  };
  touched();
  showQuestion();
}

function showQuestion() {
  const survey = kiosk.survey;
  if (!survey) return showStart();
  return show(
    'question',
    screens.questionScreen({
      lang: kiosk.lang,
      form: survey.form,
      index: survey.index,
      answers: survey.answers,
      missing: survey.missing,
      onAnswer: answer,
      onNext: next,
      onBack: back,
      onLang: setLanguage,
    }),
  );
}

function answer(code, value, redraw = true) {
  const survey = kiosk.survey;
  if (!survey || survey.advancing || survey.sending) return;
  survey.answers[code] = value;
  survey.missing = false;
  const screen = survey.form.screens[survey.index];
  if (screens.advancesOnAnswer(screen)) {
    // Show the choice, then move on: the tap on an answer is the tap to go on.
    survey.advancing = true;
    markChosen(code, value);
    setTimeout(() => {
      if (kiosk.survey !== survey) return; // reset meanwhile
      survey.advancing = false;
      next();
    }, ADVANCE_MS);
  } else if (redraw) {
    markChosen(code, value);
  }
}

function markChosen(code, value) {
  const group = root.querySelector(`#q-${CSS.escape(code)}`)?.parentElement;
  if (!group) return;
  for (const option of group.querySelectorAll('[role=radio]')) {
    option.setAttribute('aria-checked', String(Number(option.dataset.code) === value));
  }
}

function unanswered(screen, answers) {
  return screen.items.some((item) => {
    if (!item.required) return false;
    const value = answers[item.code];
    return value === undefined || value === '' || (Array.isArray(value) && value.length === 0);
  });
}

function next() {
  const survey = kiosk.survey;
  if (!survey || survey.sending) return;
  const screen = survey.form.screens[survey.index];
  if (unanswered(screen, survey.answers)) {
    survey.missing = true;
    showQuestion();
    return;
  }
  if (survey.index === survey.form.screens.length - 1) {
    send();
    return;
  }
  survey.index += 1;
  showQuestion();
}

function back() {
  const survey = kiosk.survey;
  if (!survey || survey.index === 0 || survey.sending) return;
  survey.index -= 1;
  survey.missing = false;
  showQuestion();
}

/** Save the response on the tablet (durably), thank the person, then send in the background. */
async function send() {
  const survey = kiosk.survey;
  if (!survey || survey.sending) return; // a double tap must not make two responses
  survey.sending = true;
  clearTimeout(kiosk.idleTimer);
  const answers = {};
  for (const [code, value] of Object.entries(survey.answers)) {
    if (typeof value === 'string' && !value.trim()) continue;
    answers[code] = value;
  }
  const record = {
    id: survey.id,
    desk: survey.desk,
    questionnaire: survey.form.id,
    version: survey.form.version,
    answers,
    language: kiosk.lang,
    started_at: iso(survey.startedAt),
    answered_at: iso(Math.max(now(), survey.startedAt)),
  };
  try {
    await kiosk.outbox.add(record);
  } catch (error) {
    survey.sending = false;
    console.error('the response could not be saved', error);
    show('error', screens.messageScreen({ title: t(kiosk.lang, 'save_failed') }));
    kiosk.thanksTimer = setTimeout(() => showStart(), 8000);
    return;
  }
  show('thanks', screens.thanksScreen({ lang: kiosk.lang }));
  kiosk.survey = null;
  kiosk.thanksTimer = setTimeout(() => showStart(), kiosk.config.settings.thanks_seconds * 1000);
}

function touched() {
  if (!kiosk.survey) return;
  clearTimeout(kiosk.idleTimer);
  kiosk.idleTimer = setTimeout(() => {
    // Walked away half-way: drop the answers (never saved) and greet the next person.
    if (kiosk.screen === 'question') showStart();
  }, kiosk.survey.idleMs);
}

function goFullScreen() {
  const page = document.documentElement;
  if (document.fullscreenElement || !page.requestFullscreen) return;
  if (matchMedia('(display-mode: fullscreen)').matches) return;
  page.requestFullscreen().catch(() => {}); // refused outside a user gesture: no harm
}

// -- enrolment -----------------------------------------------------------------------------------

async function showEnrol() {
  const { pending, rejected } = kiosk.store ? await kiosk.store.counts() : { pending: 0, rejected: 0 };
  show(
    'enrol',
    screens.enrolScreen({
      lang: kiosk.lang,
      waiting: pending + rejected,
      message: kiosk.enrolMessage,
      working: kiosk.enrolling,
      onEnrol: enrolWith,
      onLang: setLanguage,
    }),
  );
}

function enrolmentCodeInAddress() {
  const code = new URLSearchParams(location.hash.slice(1)).get('enrol');
  return code ? code.trim() : null;
}

async function enrolWith(code) {
  if (kiosk.enrolling) return;
  kiosk.enrolling = true;
  kiosk.enrolMessage = null;
  await showEnrol();
  let reply;
  const sentAt = Date.now();
  try {
    reply = await api.enrol(code);
  } catch {
    reply = null;
  }
  kiosk.enrolling = false;
  // The code is used (or useless) either way: do not keep it in the address bar.
  history.replaceState(null, '', location.pathname);
  if (!reply) {
    kiosk.enrolMessage = t(kiosk.lang, 'enrol_offline');
    return showEnrol();
  }
  if (reply.status !== 201 || !reply.body || !reply.body.token) {
    const key = reply.body && reply.body.error;
    kiosk.enrolMessage = ['unknown_code', 'code_used', 'code_expired', 'desk_inactive'].includes(key)
      ? t(kiosk.lang, key)
      : t(kiosk.lang, 'enrol_failed');
    return showEnrol();
  }
  kiosk.token = reply.body.token;
  kiosk.revoked = false;
  await kiosk.store.set('token', kiosk.token);
  await kiosk.store.set('revoked', false);
  // The status line still says "not enrolled" from before: redraw it now, not at the next upload.
  renderStatus();
  await useConfig(reply.body.config);
  learnClock(reply.body.server_time, sentAt, Date.now());
  startHeartbeat();
  showStart();
  // Responses refused while the tablet was not enrolled go out now, under the new token.
  await kiosk.outbox.unblock();
  return undefined;
}

async function markNotEnrolled() {
  kiosk.revoked = true;
  await kiosk.store.set('revoked', true);
  renderStatus();
  // Never interrupt someone answering: their response is saved and kept; the next screen says.
  if (kiosk.screen === 'start' || kiosk.screen === 'closed') showEnrol();
}

// -- configuration, clock, heartbeat, updates ----------------------------------------------------

async function useConfig(config) {
  kiosk.config = config;
  kiosk.outbox.capMs = config.settings.retry_max_seconds * 1000;
  await kiosk.store.set('config', config);
  // A survey in progress keeps its own snapshot; the start and closed screens redraw now.
  if (kiosk.screen === 'start' || kiosk.screen === 'closed') showStart({ keepLanguage: true });
}

function learnClock(serverTime, sentAt, receivedAt) {
  const server = Date.parse(serverTime);
  if (Number.isNaN(server) || receivedAt - sentAt > 5000) return; // a slow answer says little
  kiosk.clockOffset = Math.round(server - (sentAt + receivedAt) / 2);
  kiosk.store.set('clock_offset', kiosk.clockOffset);
}

async function heartbeat() {
  if (!kiosk.token || kiosk.revoked) return;
  const { pending, rejected } = await kiosk.store.counts();
  const sentAt = Date.now();
  let reply;
  try {
    reply = await api.heartbeat(kiosk.token, { queue_length: pending, rejected, client_version: VERSION });
  } catch {
    setOnline(false);
    return;
  }
  setOnline(true);
  if (reply.status === 401 || reply.status === 403) {
    await markNotEnrolled();
    return;
  }
  if (reply.status !== 200 || !reply.body) return;
  learnClock(reply.body.server_time, sentAt, Date.now());
  if (kiosk.config && reply.body.config_version !== kiosk.config.config_version) {
    try {
      const fresh = await api.config(kiosk.token);
      if (fresh.status === 200 && fresh.body && fresh.body.questionnaire) await useConfig(fresh.body);
    } catch {
      // next heartbeat
    }
  }
  if (reply.body.shell_version !== VERSION && kiosk.registration) {
    kiosk.registration.update().catch(() => {});
  }
  kiosk.outbox.drain();
}

function startHeartbeat() {
  clearInterval(kiosk.heartbeatTimer);
  const every = (kiosk.config?.settings.heartbeat_seconds || 60) * 1000;
  kiosk.heartbeatTimer = setInterval(heartbeat, every);
  heartbeat();
}

function setOnline(online) {
  if (kiosk.online === online) return;
  kiosk.online = online;
  renderStatus();
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  try {
    const registration = await navigator.serviceWorker.register(new URL('sw.js', import.meta.url), {
      scope: new URL('./', import.meta.url).pathname,
      updateViaCache: 'none',
    });
    kiosk.registration = registration;
    const watch = (worker) => {
      if (!worker) return;
      const ready = () => {
        // Installed while an older shell runs this page: take over at the next start screen.
        if (worker.state === 'installed' && navigator.serviceWorker.controller) {
          kiosk.updateWaiting = worker;
          if (kiosk.screen === 'start' || kiosk.screen === 'closed' || kiosk.screen === 'enrol') showStart({ keepLanguage: true });
        }
      };
      worker.addEventListener('statechange', ready);
      ready();
    };
    watch(registration.waiting);
    registration.addEventListener('updatefound', () => watch(registration.installing));
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      if (kiosk.reloading) location.reload();
    });
  } catch (error) {
    console.warn('no service worker: the kiosk will not work offline', error);
  }
}

/** Switch to the new shell (reload): only from the start screen, where nothing is lost. */
function activateUpdate() {
  const worker = kiosk.updateWaiting;
  if (!worker || kiosk.reloading || worker.state !== 'installed') return false;
  kiosk.reloading = true;
  worker.postMessage({ type: 'activate' });
  setTimeout(() => {
    // The new worker never took over (replaced by a newer one meanwhile): carry on as we are.
    if (!kiosk.reloading) return;
    kiosk.reloading = false;
    kiosk.updateWaiting = null;
    showStart();
  }, 5000);
  return true;
}

// -- the staff status line -----------------------------------------------------------------------

/** "14:05 25/11" in the desk's time zone. */
function clock(ms) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: kiosk.config?.settings.time_zone,
    hour: '2-digit',
    minute: '2-digit',
    day: '2-digit',
    month: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part('hour')}:${part('minute')} ${part('day')}/${part('month')}`;
}

let statusSoon = null;

/** Redraw the status line soon: a draining queue changes many times a second, staff need not. */
function renderStatus() {
  if (statusSoon !== null) return;
  statusSoon = setTimeout(() => {
    statusSoon = null;
    drawStatus();
  }, 150);
}

async function drawStatus() {
  if (!kiosk.outbox) return;
  const status = await kiosk.outbox.status();
  if (status.lastSyncAt && status.lastSyncAt !== kiosk.lastSyncAt) {
    kiosk.lastSyncAt = status.lastSyncAt;
    kiosk.store.set('last_sync_at', kiosk.lastSyncAt);
  }
  const lang = kiosk.lang;
  const online = kiosk.online && navigator.onLine;
  const parts = [
    screens.h('span', { class: `dot ${online ? 'on' : 'off'}`, 'data-online': String(online), text: t(lang, online ? 'status_online' : 'status_offline') }),
    screens.h('span', { 'data-waiting': status.pending, text: t(lang, 'status_waiting', { n: status.pending }) }),
  ];
  if (status.rejected) {
    parts.push(screens.h('span', { class: 'bad', 'data-rejected': status.rejected, text: t(lang, 'status_rejected', { n: status.rejected }) }));
  }
  if (kiosk.revoked || !kiosk.token) parts.push(screens.h('span', { class: 'bad', text: t(lang, 'status_not_enrolled') }));
  parts.push(
    screens.h('span', {
      'data-synced': kiosk.lastSyncAt ? iso(kiosk.lastSyncAt) : '',
      text: kiosk.lastSyncAt ? t(lang, 'status_synced', { time: clock(kiosk.lastSyncAt) }) : t(lang, 'status_never'),
    }),
  );
  statusLine.replaceChildren(...parts.flatMap((part, i) => (i ? [' · ', part] : [part])));
}

// -- start ---------------------------------------------------------------------------------------

function webLock(fn) {
  // One upload at a time across tabs too (two tabs of the kiosk would otherwise race).
  return navigator.locks ? navigator.locks.request('sipas-kiosk-outbox', fn) : fn();
}

async function boot() {
  registerServiceWorker();
  kiosk.store = await KioskStore.open();
  const [token, config, revoked, offset, lastSync] = await Promise.all(
    ['token', 'config', 'revoked', 'clock_offset', 'last_sync_at'].map((key) => kiosk.store.get(key)),
  );
  Object.assign(kiosk, { token: token || null, config: config || null, revoked: Boolean(revoked) });
  kiosk.clockOffset = Number(offset) || 0;
  kiosk.lastSyncAt = lastSync || null;
  kiosk.outbox = new Outbox({
    store: kiosk.store,
    send: (record) => api.submit(kiosk.token, payloadOf(record)),
    now: () => Date.now(),
    lock: webLock,
    capMs: (config?.settings.retry_max_seconds || 300) * 1000,
    onChange: () => {
      renderStatus();
    },
    onUnauthorised: () => {
      markNotEnrolled();
    },
  });
  kiosk.outbox.lastSyncAt = kiosk.lastSyncAt;
  kiosk.outbox.blocked = kiosk.revoked || !kiosk.token;

  for (const type of ['pointerdown', 'keydown', 'input']) document.addEventListener(type, touched, { capture: true, passive: true });
  addEventListener('online', () => {
    setOnline(true);
    kiosk.outbox.drain({ force: true });
    heartbeat();
  });
  addEventListener('offline', () => setOnline(false));
  setInterval(() => kiosk.outbox.drain(), DRAIN_EVERY_MS);
  setInterval(() => {
    // Opening and closing time: the start and closed screens follow the clock. Redrawn only on a
    // change, so that a finger on the start button never meets a replaced button.
    if (!kiosk.config || (kiosk.screen !== 'start' && kiosk.screen !== 'closed')) return;
    const { opening_hours: hours, time_zone: zone } = kiosk.config.settings;
    if (isOpen(hours, now(), zone) !== (kiosk.screen === 'start')) showStart({ keepLanguage: true });
  }, HOURS_CHECK_MS);
  addEventListener('hashchange', () => {
    // A new enrolment link opened on a running kiosk (moving the tablet to another desk).
    const code = enrolmentCodeInAddress();
    if (code && !kiosk.survey) enrolWith(code);
  });

  const code = enrolmentCodeInAddress();
  if (code) {
    await enrolWith(code);
  } else {
    showStart();
    if (kiosk.token && !kiosk.revoked) {
      startHeartbeat();
      kiosk.outbox.drain({ force: true });
    }
  }
  renderStatus();
}

boot().catch((error) => {
  console.error(error);
  show('error', screens.messageScreen({ title: t('vi', 'save_failed'), text: String(error) }));
});
