// The dashboard's revenue chart: one bar series per currency (never added together),
// from the figures the page carries in #revenue-chart-data (json_script).
(function () {
  "use strict";
  var data = document.getElementById("revenue-chart-data");
  var canvas = document.getElementById("revenue-chart");
  if (!data || !canvas || typeof Chart === "undefined") { return; }
  var figures = JSON.parse(data.textContent);
  var colours = ["#3553d6", "#f79009", "#12b76a", "#7a5af8", "#ee46bc", "#0ba5ec"];
  var datasets = Object.keys(figures.series).map(function (currency, index) {
    return {
      label: currency,
      data: figures.series[currency].map(Number),
      backgroundColor: colours[index % colours.length],
      // A currency of its own axis when there are two: amounts are not comparable.
      yAxisID: index === 0 ? "y" : "y" + index
    };
  });
  var scales = { x: { grid: { display: false } } };
  datasets.forEach(function (set, index) {
    scales[set.yAxisID] = {
      position: index % 2 === 0 ? "left" : "right",
      beginAtZero: true,
      display: index < 2,
      title: { display: true, text: set.label },
      grid: { drawOnChartArea: index === 0 }
    };
  });
  new Chart(canvas, {
    type: "bar",
    data: { labels: figures.months, datasets: datasets },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
               scales: scales, plugins: { legend: { position: "bottom" } } }
  });
})();
