// The quote page: the chart (daily / minute candles from the page's JSON, the last bar
// updated from kis:trade), the 10-level book (kis:book; click a price -> the ticket), the
// time-and-sales tape (newest first, bounded) and the live/delayed badge. The header's
// figures are live cells handled by static/js/live-prices.js (loaded before this module).
// Chart prices are JavaScript numbers because the chart draws with them; no order price is
// ever taken from them (the ticket gets the book's own string).

const root = document.getElementById("quote");
const fmt = window.kisLivePrices;

const KST = "Asia/Seoul";
const RED = "#d60000";
const BLUE = "#0051c7";

function kstParts(date, zone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(date);
  const get = (type) => parts.find((part) => part.type === type)?.value;
  return { year: get("year"), month: get("month"), day: get("day") };
}

function todayIn(zone) {
  const { year, month, day } = kstParts(new Date(), zone);
  return `${year}-${month}-${day}`;
}

function toDate(time) {
  if (typeof time === "number") return new Date(time * 1000);
  if (typeof time === "string") return new Date(`${time}T00:00:00Z`);
  return new Date(Date.UTC(time.year, time.month - 1, time.day));
}

function setup() {
  const symbol = root.dataset.symbol;
  const currency = root.dataset.currency;
  const domestic = root.dataset.domestic === "1";
  const zone = domestic ? KST : "America/New_York";
  const locale = document.documentElement.lang || "ko";
  const money = (text) => (fmt ? fmt.formatMoney(text, currency) : String(text));
  const quantity = (text) => (fmt ? fmt.formatQuantity(text) : String(text));

  // ------------------------------------------------------------ book
  const book = document.getElementById("book");
  const ticket = document.querySelector("form.ticket");

  function paintBars() {
    if (!book) return;
    for (const bar of book.querySelectorAll(".bar")) {
      bar.style.width = `${Number(bar.dataset.width || 0)}%`;
    }
  }

  function setRow(row, level, largest, side) {
    const button = row.querySelector(".book-price");
    const cell = row.querySelector("td.qty");
    const bar = cell.querySelector(".bar");
    const value = cell.querySelector(".val");
    if (!level) {
      button.textContent = "";
      button.dataset.price = "";
      button.disabled = true;
      value.textContent = "";
      bar.style.width = "0%";
      return;
    }
    const [price, qty] = level;
    const priceText = money(price);
    const qtyText = quantity(qty);
    if (value.textContent !== qtyText && value.textContent !== "" && fmt) {
      fmt.flash(value, side === "bid");
    }
    button.textContent = priceText;
    button.dataset.price = price;
    button.disabled = false;
    value.textContent = qtyText;
    const width = largest > 0 ? Math.min(100, Math.round((Number(qty) * 100) / largest)) : 0;
    bar.style.width = `${width}%`;
  }

  function onBook(frame) {
    if (!book) return;
    const asks = (frame.asks || []).slice(0, 10);
    const bids = (frame.bids || []).slice(0, 10);
    const largest = Math.max(0, ...asks.concat(bids).map((level) => Number(level[1]) || 0));
    const askRows = [...book.querySelectorAll("tbody tr.ask")];
    const bidRows = [...book.querySelectorAll("tbody tr.bid")];
    // Asks are drawn highest first: the best ask sits just above the spread.
    askRows.forEach((row, i) => setRow(row, asks[askRows.length - 1 - i], largest, "ask"));
    bidRows.forEach((row, i) => setRow(row, bids[i], largest, "bid"));
    const totalAsk = document.getElementById("book-total-ask");
    const totalBid = document.getElementById("book-total-bid");
    if (totalAsk && frame.total_ask !== undefined) totalAsk.textContent = quantity(frame.total_ask);
    if (totalBid && frame.total_bid !== undefined) totalBid.textContent = quantity(frame.total_bid);
  }

  if (book) {
    paintBars();
    book.addEventListener("click", (event) => {
      const button = event.target.closest(".book-price");
      if (!button || !button.dataset.price || !ticket) return;
      const input = ticket.elements.price;
      if (!input) return;
      input.value = button.dataset.price;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.focus();
    });
  }

  // ------------------------------------------------------------ tape
  const tape = document.querySelector("#tape tbody");
  const tapeEmpty = document.getElementById("tape-empty");
  const tapeRows = Number(root.dataset.tapeRows || 30);

  function clock(text) {
    const t = String(text || "").padStart(6, "0");
    return `${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4, 6)}`;
  }

  function onTape(frame) {
    if (!tape) return;
    const row = document.createElement("tr");
    const colour = ["1", "2"].includes(frame.sign) ? "up" : ["4", "5"].includes(frame.sign) ? "down" : "flat";
    for (const [text, cls] of [
      [clock(frame.time), ""],
      [money(frame.price), `num ${colour}`],
      [quantity(frame.volume), "num"],
    ]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (cls) cell.className = cls;
      row.appendChild(cell);
    }
    tape.prepend(row);
    while (tape.rows.length > tapeRows) tape.deleteRow(tape.rows.length - 1);
    if (tapeEmpty) tapeEmpty.hidden = true;
  }

  // ------------------------------------------------------------ stream mode badge
  const mode = document.getElementById("stream-mode");
  function showMode(delayed, age) {
    if (!mode) return;
    mode.className = `stream-mode stream-mode--${delayed ? "delayed" : "live"}`;
    mode.textContent = delayed
      ? `${root.dataset.textDelayed} ${age ?? 0}${root.dataset.textSeconds}`
      : root.dataset.textLive;
  }

  // ------------------------------------------------------------ chart
  const status = document.getElementById("chart-status");
  const container = document.getElementById("chart");
  const Charts = window.LightweightCharts;
  let chart = null;
  let series = null;
  let interval = "day";
  let last = null;

  const dateFormat = new Intl.DateTimeFormat(locale, { timeZone: "UTC", year: "numeric", month: "2-digit", day: "2-digit" });
  const minuteFormat = new Intl.DateTimeFormat(locale, { timeZone: KST, hour: "2-digit", minute: "2-digit", hour12: false });
  const fullFormat = new Intl.DateTimeFormat(locale, { timeZone: KST, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });

  function label(time, full) {
    if (typeof time === "number") return (full ? fullFormat : minuteFormat).format(toDate(time));
    return dateFormat.format(toDate(time));
  }

  if (Charts && container) {
    chart = Charts.createChart(container, {
      autoSize: true,
      layout: { attributionLogo: false, background: { color: "#ffffff" }, textColor: "#1a1a1a" },
      grid: { vertLines: { color: "#eef0f3" }, horzLines: { color: "#eef0f3" } },
      localization: { locale, timeFormatter: (time) => label(time, true) },
      timeScale: { timeVisible: true, secondsVisible: false, tickMarkFormatter: (time) => label(time, false) },
      rightPriceScale: { borderColor: "#d9dde3" },
    });
    series = chart.addSeries(Charts.CandlestickSeries, {
      upColor: RED,
      downColor: BLUE,
      borderUpColor: RED,
      borderDownColor: BLUE,
      wickUpColor: RED,
      wickDownColor: BLUE,
      priceFormat: currency === "USD" ? { type: "price", precision: 2, minMove: 0.01 } : { type: "price", precision: 0, minMove: 1 },
    });
  }

  async function load(wanted) {
    if (!series) return;
    interval = wanted;
    for (const button of document.querySelectorAll(".chart-tools .interval")) {
      button.setAttribute("aria-pressed", String(button.dataset.interval === wanted));
    }
    status.textContent = "";
    try {
      const answer = await fetch(`${root.dataset.candlesUrl}?interval=${wanted}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const body = await answer.json();
      if (!answer.ok) throw new Error(body.error || root.dataset.textChartFailed);
      if (interval !== wanted) return; // another button was pressed meanwhile
      const bars = body.candles.map((bar) => ({
        time: bar.time,
        open: Number(bar.open),
        high: Number(bar.high),
        low: Number(bar.low),
        close: Number(bar.close),
      }));
      series.setData(bars);
      last = bars.length ? { ...bars[bars.length - 1] } : null;
      chart.timeScale().fitContent();
      container.dataset.bars = String(bars.length);
    } catch (error) {
      status.textContent = error.message || root.dataset.textChartFailed;
    }
  }

  function minuteStart(timeText) {
    // Unix seconds of the KST minute that a trade's HHMMSS falls in, on today's KST date.
    const t = String(timeText || "").padStart(6, "0");
    const { year, month, day } = kstParts(new Date(), KST);
    const hours = Number(t.slice(0, 2));
    const minutes = Number(t.slice(2, 4));
    return Date.UTC(Number(year), Number(month) - 1, Number(day), hours - 9, minutes) / 1000;
  }

  function onCandle(frame) {
    if (!series) return;
    const price = Number(frame.price);
    if (!Number.isFinite(price) || price <= 0) return;
    let bar;
    if (interval === "day") {
      const today = todayIn(zone);
      bar = {
        time: today,
        open: Number(frame.open) || price,
        high: Math.max(Number(frame.high) || price, price),
        low: Math.min(Number(frame.low) || price, price),
        close: price,
      };
      if (last && typeof last.time === "string" && last.time > today) return;
    } else {
      const start = minuteStart(frame.time);
      if (last && typeof last.time === "number" && start < last.time) return;
      if (last && last.time === start) {
        bar = { ...last, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price };
      } else {
        bar = { time: start, open: price, high: price, low: price, close: price };
      }
    }
    try {
      series.update(bar);
      last = bar;
      container.dataset.lastClose = String(price);
    } catch {
      // an out-of-order bar: the next reload draws it from REST
    }
  }

  for (const button of document.querySelectorAll(".chart-tools .interval")) {
    button.addEventListener("click", () => load(button.dataset.interval));
  }
  load("day");

  // ------------------------------------------------------------ stream
  document.addEventListener("kis:trade", (event) => {
    const frame = event.detail || {};
    if (frame.symbol !== symbol) return;
    showMode(false);
    // A snapshot (the newest trade, sent at once on subscribing) is the price now, not a
    // new trade: on a tape that already shows trades (after a reconnect) it is one of them.
    if (!frame.snapshot || !tape || !tape.rows.length) onTape(frame);
    onCandle(frame);
  });
  document.addEventListener("kis:delayed", (event) => {
    const frame = event.detail || {};
    if (frame.symbol !== symbol) return;
    showMode(true, frame.age_s);
    onCandle(frame);
  });
  document.addEventListener("kis:book", (event) => {
    const frame = event.detail || {};
    if (frame.symbol === symbol) onBook(frame);
  });
  document.addEventListener("kis:subscribed", (event) => {
    const frame = event.detail || {};
    if (frame.symbol === symbol) showMode(frame.mode === "delayed", 0);
  });

  // live-prices.js asks for trades; the book is this page's own want.
  let tries = 0;
  (function want() {
    if (window.kisStream) {
      window.kisStream.want(symbol, ["trade", "book"]);
    } else if (++tries <= 50) {
      setTimeout(want, 100);
    }
  })();
}

if (root) setup();
