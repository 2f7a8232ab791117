// The order ticket: tick-step buttons set the price; the estimate follows price × quantity.
// Won amounts are whole numbers, so the estimate uses BigInt: no float on a money path.
const form = document.querySelector("form.ticket");

function wholeWon(text) {
  const cleaned = (text || "").replace(/,/g, "").trim();
  if (!/^\d+(\.0+)?$/.test(cleaned)) return null;
  return BigInt(cleaned.split(".")[0]);
}

function rateParts(text) {
  // "0.000140527" -> [140527n, 10n ** 9n]
  const match = /^(\d+)\.(\d+)$/.exec(text || "");
  if (!match) return null;
  return [BigInt(match[1] + match[2]), 10n ** BigInt(match[2].length)];
}

function updateEstimate() {
  const output = document.getElementById("estimate");
  if (!form || !output) return;
  const price = wholeWon(form.elements.price?.value);
  const quantity = wholeWon(form.elements.quantity?.value);
  if (form.dataset.market !== "KRX" || price === null || quantity === null) {
    output.textContent = "—";
    return;
  }
  const amount = price * quantity;
  const commissionRate = rateParts(output.dataset.rateCommission);
  const taxRate = rateParts(output.dataset.rateTax);
  let commission = 0n;
  if (commissionRate) commission = ((amount * commissionRate[0]) / commissionRate[1] / 10n) * 10n;
  const selling = form.querySelector("input[name=side]:checked")?.value === "sell";
  const tax = selling && taxRate ? (amount * taxRate[0]) / taxRate[1] : 0n;
  const total = selling ? amount - commission - tax : amount + commission + tax;
  output.textContent = total.toLocaleString("ko-KR");
}

if (form) {
  document.querySelectorAll(".tick-step").forEach((button) => {
    button.addEventListener("click", () => {
      form.elements.price.value = button.dataset.price;
      updateEstimate();
    });
  });
  form.addEventListener("input", updateEstimate);
  form.addEventListener("change", updateEstimate);
  updateEstimate();
}
