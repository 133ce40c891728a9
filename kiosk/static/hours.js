// Opening hours on the tablet: the same rule as survey_app/services/opening_hours.py. Hours are
// {"mon": ["07:30-11:30", "13:30-17:00"], …} in the desk's time zone; a day not listed is closed
// and no hours at all (null) mean always open.

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const WEEKDAY = { Mon: 'mon', Tue: 'tue', Wed: 'wed', Thu: 'thu', Fri: 'fri', Sat: 'sat', Sun: 'sun' };

/** The weekday and "HH:MM" of a moment (ms since 1970) in a time zone. */
export function localClock(ms, timeZone) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const part = (type) => parts.find((p) => p.type === type).value;
  return { day: WEEKDAY[part('weekday')], time: `${part('hour')}:${part('minute')}` };
}

export function isOpen(hours, ms, timeZone) {
  if (!hours) return true;
  const { day, time } = localClock(ms, timeZone);
  return (hours[day] || []).some((interval) => {
    const [start, end] = interval.split('-');
    return start <= time && (end === '24:00' || time < end);
  });
}

/** Today's intervals as text, e.g. "07:30–11:30, 13:30–17:00" (empty when closed all day). */
export function todayHours(hours, ms, timeZone) {
  if (!hours) return '';
  const { day } = localClock(ms, timeZone);
  return (hours[day] || []).map((i) => i.replace('-', '–')).join(', ');
}
