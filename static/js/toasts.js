// Toasts are plain markup and readable without JavaScript; this makes them dismissable and
// adds the live ones: execution notices (kis:notice) and refusals (kis:error) from the
// market stream.
function dismissable(button) {
  button.hidden = false;
  button.addEventListener("click", () => button.closest(".toast")?.remove());
}

for (const button of document.querySelectorAll("[data-dismiss='toast']")) {
  dismissable(button);
}

function showToast(kind, message, { role = "status", lasts = 15000 } = {}) {
  const box = document.querySelector(".toasts");
  if (!box) return null;
  const toast = document.createElement("div");
  toast.className = `toast toast--${kind}`;
  toast.setAttribute("role", role);
  const text = document.createElement("p");
  text.textContent = message;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", document.documentElement.lang === "ko" ? "닫기" : "Dismiss");
  close.textContent = "×";
  toast.append(text, close);
  dismissable(close);
  box.append(toast);
  setTimeout(() => toast.remove(), lasts);
  return toast;
}

document.addEventListener("kis:notice", (event) => {
  if (!event.detail || typeof event.detail.text !== "string") return;
  const kind = event.detail.kind === "reject" ? "error" : "success";
  const toast = showToast(kind, event.detail.text, { role: kind === "error" ? "alert" : "status" });
  if (!toast) return;
  toast.classList.add("toast--notice");
  toast.dataset.orderId = event.detail.order_id || "";
  document.dispatchEvent(new CustomEvent("kis:portfolio-stale", { detail: event.detail }));
});

// The stream's refusals, in the sentence the server wrote in the page's language: one
// toast per kind while it shows (a tab reopening on 30 symbols may hear "busy" 30 times).
// Without a usable credential the page itself says so; a toast on every page would nag.
const shownErrors = new Map(); // code -> its toast
document.addEventListener("kis:error", (event) => {
  const { code, message } = event.detail || {};
  if (typeof code !== "string" || typeof message !== "string" || code === "no_credential") return;
  if (shownErrors.get(code)?.isConnected) return;
  const toast = showToast(code === "busy" ? "warning" : "error", message, {
    role: "alert",
    lasts: 8000,
  });
  if (toast) {
    toast.dataset.streamError = code;
    shownErrors.set(code, toast);
  }
});
