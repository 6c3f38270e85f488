// Draws the dashboard charts from the JSON blocks the server renders next to each
// <canvas data-chart="NAME"> (id "chart-NAME"), again after each htmx swap (the filters
// replace #panels in place). A click on a bar, slice or point opens the records behind it.
const charts = new Map();
const COLORS = ["#3654d6", "#1f9d74", "#e08a1e", "#c2410c", "#7c3aed", "#0891b2", "#be185d", "#65a30d"];

function drawAll() {
  for (const chart of charts.values()) chart.destroy();
  charts.clear();
  if (!window.Chart) return;
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const name = canvas.dataset.chart;
    const data = document.getElementById(`chart-${name}`);
    if (!data) return;
    const spec = JSON.parse(data.textContent);
    const round = spec.type === "doughnut";
    const chart = new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((set, i) => ({
          ...set,
          backgroundColor: round ? COLORS : COLORS[i % COLORS.length],
          borderColor: round ? "#fff" : COLORS[i % COLORS.length],
          borderRadius: spec.type === "bar" ? 4 : 0,
          tension: 0.2,
        })),
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: round || spec.datasets.length > 1 } },
        scales: round ? {} : { y: { beginAtZero: true } },
        onClick: (_event, elements) => {
          if (!spec.links || !elements.length) return;
          const url = spec.links[elements[0].index];
          if (url) window.location.assign(url);
        },
        onHover: (event, elements) => {
          event.native.target.style.cursor = spec.links && elements.length ? "pointer" : "default";
        },
      },
    });
    charts.set(name, chart);
  });
  document.body.dataset.chartsDrawn = String(Date.now());
}

document.addEventListener("DOMContentLoaded", drawAll);
document.addEventListener("htmx:afterSettle", drawAll);
