// The dashboard's charts (Apache ECharts, served from node_modules): each segment opens the
// policies behind it. Without ECharts (assets not built) the tables below still carry every figure.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  function chart(id, option, urls) {
    var node = document.getElementById(id);
    if (!node) { return; }
    var c = window.echarts.init(node);
    c.setOption(option);
    if (urls) {
      c.on("click", function (params) { var url = urls[params.dataIndex]; if (url) { window.location.href = url; } });
    }
    window.addEventListener("resize", function () { c.resize(); });
  }
  var pct = { type: "value", axisLabel: { formatter: "{value}%" } };
  chart("chart-trend", {
    tooltip: { trigger: "axis" }, legend: { top: 0, data: data.trend.labels }, grid: { top: 40 },
    xAxis: { type: "category", data: data.trend.days }, yAxis: pct,
    series: [{ name: data.trend.labels[0], type: "line", data: data.trend.current },
             { name: data.trend.labels[1], type: "line", data: data.trend.previous, lineStyle: { type: "dashed" } }]
  });
  chart("chart-branches", {
    tooltip: {}, xAxis: { type: "category", data: data.branches.names }, yAxis: pct,
    series: [{ type: "bar", data: data.branches.rates }]
  }, data.branches.urls);
  chart("chart-funnel", {
    tooltip: { trigger: "item" },
    series: [{ type: "funnel", sort: "none", data: data.funnel, label: { formatter: "{b}: {c}" } }]
  });
  chart("chart-debits", {
    tooltip: { trigger: "axis" }, legend: { top: 0, data: data.debits.labels }, grid: { top: 40, bottom: 70 },
    xAxis: { type: "category", data: data.debits.names, axisLabel: { interval: 0, rotate: 20 } }, yAxis: { type: "value" },
    series: [{ name: data.debits.labels[0], type: "bar", stack: "l", data: data.debits.paid },
             { name: data.debits.labels[1], type: "bar", stack: "l", data: data.debits.failed }]
  }, data.debits.urls);
  chart("chart-persistency", {
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { top: 40 },
    xAxis: { type: "category", data: data.persistency.months }, yAxis: pct,
    series: data.persistency.series.map(function (s) { return { name: s.name, type: "line", data: s.data, connectNulls: true }; })
  });
}());
