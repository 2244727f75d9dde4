// Strict parsers for what a form's text field holds: a whole number, or an amount with at most two
// decimals (money in its main unit → cents, a percentage → basis points). Each answers either the
// value or a message to show next to the field; nothing is guessed: no Number("") → 0, no NaN (which
// JSON.stringify would send as null). An empty field is an error unless the caller says that empty
// means something (`empty`): null for a member the API documents as "null: clear", or a default.
// No DOM, no framework: both apps use it.

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface NumberRules<E> {
    min?: number; // inclusive
    max?: number; // inclusive
    // What an empty field means; absent: the field is required.
    empty?: { value: E };
}

const integerText = /^\d+$/;
const signedIntegerText = /^-?\d+$/;
const hundredthsText = /^(\d+)(?:[.,](\d{1,2}))?$/;

function bounded<E>(value: number, rules: NumberRules<E>, show: (n: number) => string): Parsed<number> {
    if (!Number.isSafeInteger(value)) return { ok: false, error: "Too large." };
    if (rules.min !== undefined && value < rules.min) return { ok: false, error: `Must be at least ${show(rules.min)}.` };
    if (rules.max !== undefined && value > rules.max) return { ok: false, error: `Must be at most ${show(rules.max)}.` };
    return { ok: true, value };
}

function emptyOr<E>(rules: NumberRules<E>, what: string): Parsed<E> {
    return rules.empty !== undefined ? { ok: true, value: rules.empty.value } : { ok: false, error: `Required: enter ${what}.` };
}

// A whole number: digits only ("-" first as well when `min` is below 0).
export function parseInteger<E = never>(text: string, rules: NumberRules<E> = {}): Parsed<number | E> {
    const t = text.trim();
    if (t === "") return emptyOr(rules, "a whole number");
    const negative = rules.min !== undefined && rules.min < 0;
    if (!(negative ? signedIntegerText : integerText).test(t)) {
        return { ok: false, error: negative ? "Enter a whole number, like 12 or -3." : "Enter a whole number of digits only, like 12." };
    }
    return bounded(Number(t), rules, String);
}

// "12", "12.5", "12,50" → 1200, 1250, 1250: hundredths as an integer, computed from the digits (no
// floating-point rounding). `min`/`max` are in hundredths too.
export function parseHundredths<E = never>(text: string, rules: NumberRules<E> = {}, what = "an amount"): Parsed<number | E> {
    const t = text.trim();
    if (t === "") return emptyOr(rules, what);
    const m = hundredthsText.exec(t);
    if (m === null) return { ok: false, error: `Enter ${what} like 12.50: digits, then at most two decimals after “.” or “,”.` };
    const whole = m[1] ?? "0";
    const fraction = (m[2] ?? "").padEnd(2, "0");
    if (whole.length > 15) return { ok: false, error: "Too large." };
    return bounded(Number(whole) * 100 + Number(fraction), rules, (n) => (n / 100).toFixed(2));
}

// Money typed in the currency's main unit → cents.
export const parseMoney = <E = never>(text: string, rules: NumberRules<E> = {}) => parseHundredths(text, rules, "an amount");

// A percentage typed in percent ("12.5") → basis points (1250).
export const parsePercent = <E = never>(text: string, rules: NumberRules<E> = {}) => parseHundredths(text, rules, "a percentage");

// cents → the text parseMoney reads back ("77.99"); "" for none.
export function moneyText(cents: number | null | undefined): string {
    if (cents === null || cents === undefined) return "";
    const sign = cents < 0 ? "-" : "";
    const abs = Math.abs(cents);
    return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}
