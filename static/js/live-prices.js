// Live price cells on any page (the market stream contract, docs in the brief of #11):
// an element with data-live-symbol="005930" data-live-field="price|change|rate|volume|
// cum_volume|open|high|low" is updated from the kis:trade / kis:delayed events that
// static/js/stream.js dispatches. Each distinct symbol is asked for once through
// kisStream.want(symbol, ["trade"]). Text is written the way the server writes it
// (market/templatetags/quote_format.py), so the first tick never changes a cell's shape.
// Prices stay strings: thousands separators are inserted into the digits, no float.
// Options per cell: data-live-currency="KRW|USD" (else the frame's), data-live-color="off"
// (no red/blue class; the flash stays). window.kisLivePrices.scan() picks up new cells.

const UP = "▲";
const DOWN = "▼";
const COLORED = new Set(["price", "change", "rate"]);
const wanted = new Set();

export function groupDigits(text) {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(text ?? "").trim());
  if (!match) return null;
  const whole = match[2].replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return { sign: match[1], whole, fraction: match[3] || "" };
}

export function formatMoney(text, currency) {
  const parts = groupDigits(text);
  if (!parts) return "—";
  if (currency === "USD") {
    let fraction = parts.fraction.replace(/0+$/, "");
    fraction = fraction.padEnd(2, "0");
    return `${parts.sign}${parts.whole}.${fraction}`;
  }
  // Won have no decimals (KIS sends whole won; a fraction is rounded half up by digits).
  let whole = parts.whole;
  if (parts.fraction && parts.fraction[0] >= "5") {
    whole = (BigInt(whole.replace(/,/g, "")) + 1n).toLocaleString("en-US");
  }
  return `${parts.sign}${whole}`;
}

function direction(sign) {
  if (sign === "1" || sign === "2") return "up";
  if (sign === "4" || sign === "5") return "down";
  return "flat";
}

export function formatChange(text, sign, currency) {
  const parts = groupDigits(text);
  if (!parts) return "—";
  const amount = formatMoney(String(text).replace(/^-/, ""), currency);
  if (/^[0.,]+$/.test(amount)) return "0";
  const arrow = direction(sign) === "down" || parts.sign ? DOWN : UP;
  return `${arrow}${amount}`;
}

export function formatRate(text, sign) {
  const parts = groupDigits(text);
  if (!parts) return "—";
  // A percentage for display only: two decimals, rounded on the digits.
  const digits = (parts.whole.replace(/,/g, "") + (parts.fraction + "000").slice(0, 3));
  const hundredths = BigInt(digits) / 10n + (BigInt(digits) % 10n >= 5n ? 1n : 0n);
  if (hundredths === 0n) return "0.00%";
  const whole = (hundredths / 100n).toLocaleString("en-US");
  const cents = String(hundredths % 100n).padStart(2, "0");
  const negative = parts.sign || direction(sign) === "down";
  return `${negative ? "-" : "+"}${whole}.${cents}%`;
}

export function formatQuantity(text) {
  const parts = groupDigits(text);
  return parts ? `${parts.sign}${parts.whole}` : "—";
}

export function cellText(field, frame, currency) {
  switch (field) {
    case "price":
    case "open":
    case "high":
    case "low":
      return formatMoney(frame[field], currency);
    case "change":
      return formatChange(frame.change, frame.sign, currency);
    case "rate":
      return formatRate(frame.rate, frame.sign);
    case "volume":
    case "cum_volume":
      return formatQuantity(frame[field]);
    default:
      return null;
  }
}

export function flash(element, up) {
  element.classList.remove("flash-up", "flash-down");
  void element.offsetWidth; // restart the animation on a second change in a row
  element.classList.add(up ? "flash-up" : "flash-down");
}

function numeric(text) {
  const cleaned = String(text).replace(/[^\d.-]/g, "");
  return cleaned === "" ? null : Number(cleaned); // only to pick the flash colour
}

function update(frame, delayed) {
  const symbol = frame.symbol;
  if (!symbol) return;
  for (const cell of document.querySelectorAll("[data-live-symbol]")) {
    if (cell.dataset.liveSymbol !== symbol) continue;
    const field = cell.dataset.liveField;
    if (field === "price" && frame.price === undefined) continue;
    const currency = cell.dataset.liveCurrency || frame.currency || "KRW";
    const text = cellText(field, frame, currency);
    if (text === null || text === "—") continue;
    const before = cell.textContent.trim();
    if (before !== text) {
      cell.textContent = text;
      const was = numeric(before);
      const now = numeric(text);
      flash(cell, was === null || now === null ? direction(frame.sign) !== "down" : now >= was);
    }
    if (COLORED.has(field) && cell.dataset.liveColor !== "off") {
      const colour = direction(frame.sign);
      cell.classList.remove("up", "down", "flat");
      cell.classList.add(colour);
      const holder = cell.closest(".quote-now");
      if (holder) {
        holder.classList.remove("up", "down", "flat");
        holder.classList.add(colour);
      }
    }
    cell.classList.toggle("live-delayed", delayed);
  }
}

function scan() {
  const stream = window.kisStream;
  if (!stream) return false;
  for (const cell of document.querySelectorAll("[data-live-symbol]")) {
    const symbol = cell.dataset.liveSymbol;
    if (symbol && !wanted.has(symbol)) {
      wanted.add(symbol);
      stream.want(symbol, ["trade"]);
    }
  }
  return true;
}

document.addEventListener("kis:trade", (event) => update(event.detail || {}, false));
document.addEventListener("kis:delayed", (event) => update(event.detail || {}, true));

// stream.js may run after this module: try again for a few seconds, then give up quietly
// (the server-rendered figures stay, which is the page without JavaScript too).
let tries = 0;
function start() {
  if (scan() || ++tries > 50) return;
  setTimeout(start, 100);
}
start();

window.kisLivePrices = { scan, cellText, formatMoney, formatQuantity, flash };
