// Draws the dashboard charts from the JSON blocks the server renders, again after each
// htmx swap (the filters replace #panels in place).
let funnelChart = null;

function drawFunnel() {
  const data = document.getElementById("funnel-data");
  const canvas = document.getElementById("funnel-chart");
  if (funnelChart) { funnelChart.destroy(); funnelChart = null; }
  if (!data || !canvas || !window.Chart) return;
  const chart = JSON.parse(data.textContent);
  funnelChart = new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: chart.labels,
      datasets: [{ label: chart.title, data: chart.values, backgroundColor: "#3654d6", borderRadius: 6 }],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}

document.addEventListener("DOMContentLoaded", drawFunnel);
document.addEventListener("htmx:afterSwap", drawFunnel);
