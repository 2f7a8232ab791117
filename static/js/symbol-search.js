// Autocomplete for a code-or-name box (templates/market/search_box.html): debounced
// requests to market:symbol_search, an ARIA combobox navigable with the keyboard.
// Picking an option puts its code in the box and its market in the hidden field; with
// data-submit-on-pick the form is sent. Without this script the box is a plain text field.

const DEBOUNCE_MS = 150;
const instances = new WeakSet();

function setup(input) {
  if (instances.has(input)) return;
  instances.add(input);
  const form = input.form;
  const list = document.getElementById(input.getAttribute("aria-controls"));
  const marketField = input.closest(".symbol-search")?.querySelector("[data-symbol-market]");
  const url = input.dataset.searchUrl;
  let results = [];
  let active = -1;
  let timer = 0;
  let controller = null;
  let lastQuery = null;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    const options = list.querySelectorAll("[role='option']");
    if (!options.length) return;
    active = (index + options.length) % options.length;
    options.forEach((option, i) => option.setAttribute("aria-selected", String(i === active)));
    input.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  function render(query) {
    list.replaceChildren();
    active = -1;
    if (!results.length) {
      const empty = document.createElement("li");
      empty.className = "no-match";
      empty.textContent = input.dataset.noMatch || "—";
      list.append(empty);
    }
    results.forEach((symbol, i) => {
      const option = document.createElement("li");
      option.id = `${list.id}-${i}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.dataset.code = symbol.code;
      const name = document.createElement("span");
      name.className = "option-name";
      name.textContent = symbol.name;
      if (symbol.name_en && symbol.name_en !== symbol.name) name.title = symbol.name_en;
      const code = document.createElement("span");
      code.className = "option-code";
      code.textContent = symbol.code;
      const market = document.createElement("span");
      market.className = "option-market";
      market.textContent = symbol.market_label;
      option.append(name, code, market);
      // mousedown, not click: the box must not lose focus (and close the list) first
      option.addEventListener("mousedown", (event) => {
        event.preventDefault();
        pick(i);
      });
      list.append(option);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    lastQuery = query;
  }

  async function lookUp(query) {
    controller?.abort();
    controller = new AbortController();
    try {
      const answer = await fetch(`${url}?q=${encodeURIComponent(query)}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!answer.ok) return;
      const body = await answer.json();
      if (input.value.trim() !== query) return; // a newer keystroke wins
      results = Array.isArray(body.results) ? body.results : [];
      render(query);
    } catch (error) {
      if (error.name !== "AbortError") close();
    }
  }

  function pick(index) {
    const symbol = results[index];
    if (!symbol) return;
    input.value = symbol.code;
    if (marketField) marketField.value = symbol.market;
    lastQuery = symbol.code;
    close();
    input.dispatchEvent(new CustomEvent("kis:symbol-picked", { bubbles: true, detail: symbol }));
    if (form && input.hasAttribute("data-submit-on-pick")) form.requestSubmit();
  }

  input.addEventListener("input", () => {
    if (marketField) marketField.value = ""; // typed text is no longer the picked symbol
    clearTimeout(timer);
    const query = input.value.trim();
    if (!query) {
      controller?.abort();
      results = [];
      close();
      return;
    }
    timer = setTimeout(() => lookUp(query), DEBOUNCE_MS);
  });

  input.addEventListener("keydown", (event) => {
    const open = !list.hidden && results.length > 0;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!open) {
        if (results.length && lastQuery === input.value.trim()) render(lastQuery);
        else return;
      }
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault();
      pick(active);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      close();
    }
  });

  input.addEventListener("blur", () => setTimeout(close, 100));
}

export function attachAll(root = document) {
  root.querySelectorAll("input[data-symbol-search]").forEach(setup);
}

attachAll();
