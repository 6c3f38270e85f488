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
    const left = el.getAttribute("data-left") || "left";
    const overdue = el.getAttribute("data-overdue") || "overdue";
    const abs = Math.abs(minutes);
    const text = abs >= 120 ? `${Math.round(abs / 60)} h` : `${abs} min`;
    el.textContent = minutes >= 0 ? `${text} ${left}` : `${overdue} ${text}`;
    el.classList.toggle("overdue", minutes < 0);
    el.classList.toggle("soon", minutes >= 0 && minutes < 5);
  });
}
document.addEventListener("DOMContentLoaded", tickDeadlines);
document.addEventListener("htmx:afterSwap", tickDeadlines);
setInterval(tickDeadlines, 15000);
