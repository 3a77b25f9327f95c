// @ts-check
// How numbers, amounts, counts and dates are written for the viewer: thousands separators and
// currency in the browser's locale ("$18,500"), plurals ("1 deal", "2 deals"), and dates and
// times in the viewer's own time zone. Pure (tested in Node, with a fixed locale).

/**
 * @param {number} value
 * @param {string} [locale]
 */
export function formatNumber(value, locale) {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value);
}

/** Units that are a currency, written as such: `$`, `USD`, `€`, `EUR`, `£`, `GBP`. */
const CURRENCIES = /** @type {Record<string, string>} */ ({ '$': 'USD', usd: 'USD', '€': 'EUR', eur: 'EUR', '£': 'GBP', gbp: 'GBP' });

/**
 * A value with its unit: a currency as money ("$18,500"), any other unit after the number.
 * @param {number} value
 * @param {string} unit
 * @param {string} [locale]
 */
export function formatAmount(value, unit, locale) {
  const currency = CURRENCIES[unit.trim().toLowerCase()];
  if (currency) {
    return new Intl.NumberFormat(locale, { style: 'currency', currency, maximumFractionDigits: Number.isInteger(value) ? 0 : 2 }).format(value);
  }
  const number = formatNumber(value, locale);
  return unit.trim() ? `${number} ${unit.trim()}` : number;
}

/**
 * "1 deal", "2 deals", "1,200 calls".
 * @param {number} count
 * @param {string} one
 * @param {string} [many] Defaults to `one` + "s".
 * @param {string} [locale]
 */
export function plural(count, one, many, locale) {
  const rule = new Intl.PluralRules(locale).select(count);
  return `${formatNumber(count, locale)} ${rule === 'one' ? one : (many ?? `${one}s`)}`;
}

/**
 * A date and time as "Tue 3 Mar, 14:05" (24-hour), in `timeZone` or else the viewer's, assembled
 * from its parts so that it reads the same in every browser and on every screen: the minutes,
 * My history and the lobby's next meeting alike.
 * @param {number} ms
 * @param {string} [locale] Names the weekday and month; English by default, like the rest of the page.
 * @param {string} [timeZone]
 */
export function formatDateTime(ms, locale = 'en-GB', timeZone = undefined) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat(locale, {
    weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone,
  }).formatToParts(ms).map((part) => [part.type, part.value]));
  return `${parts.weekday} ${parts.day} ${parts.month}, ${parts.hour}:${parts.minute}`;
}

/**
 * A calendar date `YYYY-MM-DD` as the viewer writes dates ("Fri 6 Mar"), without shifting it
 * through a time zone (it is a day, not an instant).
 * @param {string} day
 * @param {string} [locale]
 */
export function formatDay(day, locale) {
  const [year, month, date] = day.split('-').map(Number);
  if (!year || !month || !date) return day;
  return new Intl.DateTimeFormat(locale, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' }).format(Date.UTC(year, month - 1, date));
}
