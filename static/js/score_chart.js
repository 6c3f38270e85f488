// Draws a lead's score history (fit and engagement by day) from the JSON block the lead
// page renders; the numbers are the ledger replayed server-side.
function drawScoreHistory() {
  const data = document.getElementById("score-history-data");
  const canvas = document.getElementById("score-history-chart");
  if (!data || !canvas || !window.Chart) return;
  const history = JSON.parse(data.textContent);
  const labels = JSON.parse(document.getElementById("score-history-labels").textContent);
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: history.map((point) => point.day),
      datasets: [
        { label: labels.fit, data: history.map((p) => p.fit), borderColor: "#3654d6", pointRadius: 0, stepped: true },
        { label: labels.engagement, data: history.map((p) => p.engagement), borderColor: "#e07b00", pointRadius: 0 },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { ticks: { precision: 0 } } },
    },
  });
}

document.addEventListener("DOMContentLoaded", drawScoreHistory);
