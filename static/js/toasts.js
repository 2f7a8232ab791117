// Toasts are plain markup and readable without JavaScript; this only makes them dismissable.
for (const button of document.querySelectorAll("[data-dismiss='toast']")) {
  button.hidden = false;
  button.addEventListener("click", () => button.closest(".toast")?.remove());
}
