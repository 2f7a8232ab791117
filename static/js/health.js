// The health strip follows the market stream's status messages (kis:status).
const strip = document.querySelector("[data-health]");
const labels = {
  connected: "data-label-connected",
  connecting: "data-label-connecting",
  reconnecting: "data-label-reconnecting",
  closed: "data-label-closed",
};

function set(selector, text) {
  const node = strip?.querySelector(selector);
  if (node && text !== undefined && text !== null) node.textContent = String(text);
}

document.addEventListener("kis:status", (event) => {
  const status = event.detail || {};
  const state = strip?.querySelector("[data-health-state]");
  if (!state || !labels[status.state]) return;
  state.dataset.healthState = status.state;
  set("[data-health-label]", strip.getAttribute(labels[status.state]));
  if (status.local) return; // the browser's own socket state: no server figures
  set("[data-health-registrations]", `${status.registrations}/${status.cap}`);
  set("[data-health-pingpong]", status.last_pingpong ? status.last_pingpong.slice(11, 19) : "—");
  set("[data-health-reconnects]", status.reconnects_today);
  const gap = strip.querySelector("[data-label-gap]");
  if (gap && typeof status.last_gap_s === "number") {
    const label = gap.getAttribute("data-label-gap") || "{seconds} s";
    set("[data-health-gap]", label.replace("{seconds}", status.last_gap_s.toFixed(1)));
  }
  const slots = strip.querySelector("[data-health-slots]");
  if (slots && Array.isArray(status.slots)) slots.title = status.slots.join(", ");
});
