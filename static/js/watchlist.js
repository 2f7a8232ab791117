// Watchlist rows move up and down in place: the same forms the page posts without
// JavaScript, sent with fetch and answered with the new order as JSON.

function syncButtons(tbody) {
  const rows = [...tbody.querySelectorAll("tr[data-item]")];
  rows.forEach((row, i) => {
    const [up, down] = row.querySelectorAll("form[data-move] button");
    if (up) up.disabled = i === 0;
    if (down) down.disabled = i === rows.length - 1;
  });
}

function reorder(tbody, order) {
  const rows = new Map([...tbody.querySelectorAll("tr[data-item]")].map((row) => [row.dataset.item, row]));
  for (const id of order) {
    const row = rows.get(String(id));
    if (row) tbody.append(row);
  }
  syncButtons(tbody);
}

async function move(form, submitter) {
  const tbody = form.closest("tbody");
  const row = form.closest("tr");
  const answer = await fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (!answer.ok) {
    form.submit(); // let the server's page say what went wrong
    return;
  }
  const body = await answer.json();
  reorder(tbody, body.order || []);
  row.classList.add("moved");
  setTimeout(() => row.classList.remove("moved"), 600);
  // keep the keyboard where it was; if that button is now disabled, use its sibling
  const target = submitter && !submitter.disabled ? submitter : row.querySelector("form[data-move] button:not(:disabled)");
  target?.focus();
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-move")) return;
  event.preventDefault();
  move(form, event.submitter).catch(() => form.submit());
});
