// Small behaviours without inline scripts (the CSP allows only our own files).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLElement && el.hasAttribute("data-autosubmit")) {
    el.closest("form")?.requestSubmit();
  }
});

// Live countdowns: <time data-deadline="ISO"> shows "12 min left" / "overdue 3 min".
function tickDeadlines() {
  const now = Date.now();
  document.querySelectorAll("time[data-deadline]").forEach((el) => {
    const due = Date.parse(el.getAttribute("data-deadline"));
    if (Number.isNaN(due)) return;
    const minutes = Math.round((due - now) / 60000);
    // The page supplies the words, already translated, with {n} for the number.
    const abs = Math.abs(minutes);
    const hours = abs >= 120;
    const key = (minutes >= 0 ? "left" : "overdue") + (hours ? "-hours" : "-minutes");
    const pattern = el.getAttribute(`data-${key}`) || "{n}";
    el.textContent = pattern.replace("{n}", String(hours ? Math.round(abs / 60) : abs));
    el.classList.toggle("overdue", minutes < 0);
    el.classList.toggle("soon", minutes >= 0 && minutes < 5);
  });
}
document.addEventListener("DOMContentLoaded", tickDeadlines);
document.addEventListener("htmx:afterSwap", tickDeadlines);
setInterval(tickDeadlines, 15000);

// A poll must not replace a form the user is filling in (an open inline reject, a select).
document.addEventListener("htmx:beforeRequest", (event) => {
  const el = event.detail.elt;
  if (!(el instanceof HTMLElement) || !el.hasAttribute("data-poll")) return;
  if (el.querySelector("details[open]") || el.contains(document.activeElement)) {
    event.preventDefault();
  }
});
