// The market stream: one WebSocket per tab at /ws/market/ (docs/design.md, "Market data
// and the relay"). Pages ask with kisStream.want(symbol, streams) / drop(symbol, streams);
// every server message is dispatched on document as a CustomEvent "kis:<type>" whose
// detail is the message. The socket reconnects by itself (capped, jittered backoff) and
// re-sends every wanted subscription, so pages never resubscribe.
const wanted = new Map(); // symbol -> Set of streams
let socket = null;
let attempt = 0;
let stopped = false;

function url() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws/market/`;
}

function emit(type, detail) {
  document.dispatchEvent(new CustomEvent(`kis:${type}`, { detail }));
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(message));
  }
}

function connect() {
  if (stopped) return;
  emit("status", { type: "status", state: attempt ? "reconnecting" : "connecting", local: true });
  socket = new WebSocket(url());
  socket.addEventListener("open", () => {
    attempt = 0;
    for (const [symbol, streams] of wanted) {
      send({ type: "subscribe", symbol, streams: [...streams] });
    }
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message && typeof message.type === "string") {
      if (message.type === "delayed") message.received_at = Date.now();
      emit(message.type, message);
    }
  });
  socket.addEventListener("close", (event) => {
    socket = null;
    if (event.code === 4401) {
      stopped = true; // signed out: reconnecting would only be refused again
      emit("status", { type: "status", state: "closed", local: true });
      return;
    }
    attempt += 1;
    const cap = Math.min(30000, 500 * 2 ** Math.min(attempt, 6));
    const delay = cap / 2 + Math.random() * (cap / 2);
    emit("status", { type: "status", state: "reconnecting", local: true });
    setTimeout(connect, delay);
  });
}

function want(symbol, streams = ["trade"]) {
  const have = wanted.get(symbol) || new Set();
  const added = streams.filter((s) => !have.has(s));
  for (const s of added) have.add(s);
  wanted.set(symbol, have);
  if (added.length) send({ type: "subscribe", symbol, streams: added });
}

function drop(symbol, streams = ["trade", "book"]) {
  const have = wanted.get(symbol);
  if (!have) return;
  const gone = streams.filter((s) => have.has(s));
  for (const s of gone) have.delete(s);
  if (!have.size) wanted.delete(symbol);
  if (gone.length) send({ type: "unsubscribe", symbol, streams: gone });
}

window.kisStream = { want, drop, wanted };
connect();
