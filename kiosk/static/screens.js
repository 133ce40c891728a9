// The kiosk's screens, built as DOM (no HTML strings: nothing a questionnaire says can become
// markup). Each function returns a fresh element; the app replaces the whole screen with it, so
// nothing of one person's answers survives into the next screen set.

import { face } from './faces.js';
import { t } from './text.js';

/** A small element builder: h('button', {class: 'big', onclick: f}, 'text', child). */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else if (key === 'class') element.className = value;
    else if (key === 'text') element.textContent = value;
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

function label(text, lang) {
  return text ? text[lang] || text.vi : '';
}

function languageSwitch(lang, onLang) {
  const other = t(lang, 'switch_lang');
  return h('button', {
    type: 'button',
    class: 'lang',
    lang: other,
    'data-action': 'language',
    onclick: () => onLang(other),
    text: t(lang, 'switch_to'),
  });
}

function top(lang, onLang, ...left) {
  return h('header', { class: 'top' }, h('div', { class: 'where' }, ...left), onLang ? languageSwitch(lang, onLang) : null);
}

export function startScreen({ lang, config, onStart, onLang }) {
  const q = config.questionnaire;
  return h(
    'section',
    { class: 'screen start' },
    top(lang, onLang, h('span', { text: config.desk.unit }), h('span', { class: 'desk', text: config.desk.name })),
    h(
      'div',
      { class: 'middle' },
      h('h1', { text: label(q.title, lang) }),
      q.intro ? h('p', { class: 'intro', text: label(q.intro, lang) }) : null,
      h('button', { type: 'button', class: 'primary huge', 'data-action': 'start', onclick: onStart, text: t(lang, 'start_button') }),
      h('p', { class: 'hint', text: t(lang, 'start_hint') }),
    ),
  );
}

function choiceItem(item, lang, answer, onAnswer, single) {
  const id = `q-${item.code}`;
  const options = item.options.map((option) =>
    h(
      'button',
      {
        type: 'button',
        role: 'radio',
        class: `opt${item.faces ? ' with-face' : ''}`,
        'aria-checked': String(answer === option.code),
        'data-code': option.code,
        onclick: () => onAnswer(item.code, option.code),
      },
      item.faces ? face(option.code) : null,
      h('span', { class: 'word', text: label(option.label, lang) }),
    ),
  );
  const na = item.not_applicable
    ? h('button', {
        type: 'button',
        role: 'radio',
        class: 'opt na',
        'aria-checked': String(answer === 0),
        'data-code': 0,
        onclick: () => onAnswer(item.code, 0),
        text: label(item.not_applicable, lang),
      })
    : null;
  return h(
    'div',
    { class: 'item' },
    h(single ? 'h1' : 'h2', { id, text: label(item.text, lang) }),
    h('div', { role: 'radiogroup', 'aria-labelledby': id, class: `opts n${options.length}${item.faces ? ' faces' : ''}` }, options),
    na ? h('div', { class: 'na-row' }, na) : null,
  );
}

function multiItem(item, lang, answer, onAnswer) {
  const id = `q-${item.code}`;
  const chosen = new Set(answer || []);
  return h(
    'div',
    { class: 'item' },
    h('h2', { id, text: label(item.text, lang) }),
    h('p', { class: 'hint', text: t(lang, 'choose_many') }),
    h(
      'div',
      { role: 'group', 'aria-labelledby': id, class: 'opts list' },
      item.options.map((option) =>
        h('button', {
          type: 'button',
          class: 'opt',
          'aria-pressed': String(chosen.has(option.code)),
          'data-code': option.code,
          onclick: (event) => {
            if (chosen.has(option.code)) chosen.delete(option.code);
            else chosen.add(option.code);
            event.currentTarget.setAttribute('aria-pressed', String(chosen.has(option.code)));
            onAnswer(item.code, [...chosen].sort((a, b) => a - b), false);
          },
          text: label(option.label, lang),
        }),
      ),
    ),
  );
}

function textItem(item, lang, answer, onAnswer, single) {
  const id = `q-${item.code}`;
  const limit = item.max_length || 1000;
  const counter = h('p', { class: 'hint', 'aria-live': 'polite' });
  const update = (value) => {
    counter.textContent = t(lang, 'chars_left', { n: Math.max(0, limit - value.length) });
  };
  const box = h('textarea', {
    id: `${id}-box`,
    'aria-labelledby': id,
    'aria-describedby': `${id}-hint`,
    maxlength: limit,
    rows: 4,
    oninput: (event) => {
      update(event.target.value);
      onAnswer(item.code, event.target.value, false);
    },
  });
  box.value = answer || '';
  update(box.value);
  return h(
    'div',
    { class: 'item' },
    h(single ? 'h1' : 'h2', { id, text: label(item.text, lang) }),
    h('p', { class: 'hint', id: `${id}-hint`, text: t(lang, 'comment_hint') }),
    box,
    counter,
  );
}

/** Whether a screen is one choice question: a tap on an answer is also the tap to go on. */
export function advancesOnAnswer(screen) {
  return screen.items.length === 1 && screen.items[0].type === 'choice';
}

/** Whether the screen needs its own "next" button: always, except for one required choice
 * (an optional one must be skippable), and the last screen always has "send". */
function needsNextButton(screen, last) {
  return last || !advancesOnAnswer(screen) || !screen.items[0].required;
}

export function questionScreen({ lang, form, index, answers, missing, onAnswer, onNext, onBack, onLang }) {
  const screen = form.screens[index];
  const total = form.screens.length;
  const last = index === total - 1;
  const single = screen.items.length === 1;
  const items = screen.items.map((item) => {
    if (item.type === 'multi') return multiItem(item, lang, answers[item.code], onAnswer);
    if (item.type === 'text') return textItem(item, lang, answers[item.code], onAnswer, single);
    return choiceItem(item, lang, answers[item.code], onAnswer, single);
  });
  const progress = h('progress', { max: total, value: index + 1, 'aria-hidden': 'true' });
  return h(
    'section',
    { class: `screen question${single ? '' : ' several'}`, 'data-screen-code': screen.code },
    top(lang, onLang, h('span', { class: 'progress-text', text: t(lang, 'progress', { n: index + 1, total }) }), progress),
    h(
      'div',
      { class: 'middle' },
      h('p', { class: 'section', text: label(screen.title, lang) }),
      items,
      missing ? h('p', { class: 'missing', role: 'alert', text: t(lang, 'choose_one') }) : null,
    ),
    h(
      'footer',
      { class: 'nav' },
      index > 0 ? h('button', { type: 'button', class: 'secondary', 'data-action': 'back', onclick: onBack, text: `← ${t(lang, 'back')}` }) : h('span'),
      !needsNextButton(screen, last)
        ? null
        : h('button', {
            type: 'button',
            class: 'primary',
            'data-action': last ? 'send' : 'next',
            onclick: onNext,
            text: last ? t(lang, 'send') : `${t(lang, 'next')} →`,
          }),
    ),
  );
}

export function thanksScreen({ lang }) {
  return h(
    'section',
    { class: 'screen thanks' },
    h('div', { class: 'middle' }, h('div', { class: 'thanks-face' }, face(5)), h('h1', { text: t(lang, 'thanks_title') }), h('p', { class: 'intro', text: t(lang, 'thanks_text') })),
  );
}

export function closedScreen({ lang, config, hoursToday, onLang }) {
  return h(
    'section',
    { class: 'screen closed' },
    top(lang, onLang, h('span', { text: config.desk.unit }), h('span', { class: 'desk', text: config.desk.name })),
    h(
      'div',
      { class: 'middle' },
      h('h1', { text: t(lang, 'closed_title') }),
      h('p', { class: 'intro', text: t(lang, 'closed_text') }),
      h('p', { class: 'intro', text: hoursToday ? t(lang, 'closed_today', { hours: hoursToday }) : t(lang, 'closed_all_day') }),
    ),
  );
}

export function enrolScreen({ lang, waiting, message, working, onEnrol, onLang }) {
  const input = h('input', {
    id: 'enrol-code',
    name: 'code',
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    inputmode: 'text',
    maxlength: 40,
  });
  const form = h(
    'form',
    {
      class: 'enrol',
      onsubmit: (event) => {
        event.preventDefault();
        if (input.value.trim()) onEnrol(input.value.trim());
      },
    },
    h('label', { for: 'enrol-code', text: t(lang, 'enrol_code') }),
    input,
    h('button', { type: 'submit', class: 'primary', disabled: working, text: working ? t(lang, 'enrol_working') : t(lang, 'enrol_button') }),
  );
  return h(
    'section',
    { class: 'screen enrol' },
    top(lang, onLang),
    h(
      'div',
      { class: 'middle' },
      h('h1', { text: t(lang, 'enrol_title') }),
      h('p', { class: 'intro', text: t(lang, 'enrol_text') }),
      waiting ? h('p', { class: 'kept', text: t(lang, 'kept_waiting', { n: waiting }) }) : null,
      message ? h('p', { class: 'missing', role: 'alert', text: message }) : null,
      form,
    ),
  );
}

export function messageScreen({ title, text }) {
  return h('section', { class: 'screen message' }, h('div', { class: 'middle' }, h('h1', { text: title }), text ? h('p', { class: 'intro', text }) : null));
}
