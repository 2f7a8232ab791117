// Toasts are plain markup and readable without JavaScript; this makes them dismissable and
// adds the live ones: execution notices from the market stream (kis:notice).
function dismissable(button) {
  button.hidden = false;
  button.addEventListener("click", () => button.closest(".toast")?.remove());
}

for (const button of document.querySelectorAll("[data-dismiss='toast']")) {
  dismissable(button);
}

document.addEventListener("kis:notice", (event) => {
  const box = document.querySelector(".toasts");
  if (!box || !event.detail || typeof event.detail.text !== "string") return;
  const toast = document.createElement("div");
  const kind = event.detail.kind === "reject" ? "error" : "success";
  toast.className = `toast toast--${kind} toast--notice`;
  toast.setAttribute("role", kind === "error" ? "alert" : "status");
  toast.dataset.orderId = event.detail.order_id || "";
  const text = document.createElement("p");
  text.textContent = event.detail.text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", document.documentElement.lang === "ko" ? "닫기" : "Dismiss");
  close.textContent = "×";
  toast.append(text, close);
  dismissable(close);
  box.append(toast);
  setTimeout(() => toast.remove(), 15000);
  document.dispatchEvent(new CustomEvent("kis:portfolio-stale", { detail: event.detail }));
});
