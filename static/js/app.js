// Small behaviours without inline scripts (the CSP allows only our own files).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLElement && el.hasAttribute("data-autosubmit")) {
    el.closest("form")?.requestSubmit();
  }
});

// Live countdowns: <time data-deadline="ISO"> shows "12 min left" / "overdue by 3 h" /
// "overdue by 5 d": minutes under two hours, hours under two days, then days.
function tickDeadlines() {
  const now = Date.now();
  document.querySelectorAll("time[data-deadline]").forEach((el) => {
    const due = Date.parse(el.getAttribute("data-deadline"));
    if (Number.isNaN(due)) return;
    const minutes = Math.round((due - now) / 60000);
    // The page supplies the words, already translated, with {n} for the number.
    const abs = Math.abs(minutes);
    const [unit, n] =
      abs >= 2880 ? ["days", Math.round(abs / 1440)]
      : abs >= 120 ? ["hours", Math.round(abs / 60)]
      : ["minutes", abs];
    const key = `${minutes >= 0 ? "left" : "overdue"}-${unit}`;
    const pattern = el.getAttribute(`data-${key}`) || "{n}";
    el.textContent = pattern.replace("{n}", String(n));
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
