// Finance's and risk's dashboards, and the outcome, feedback and risk-decile charts of the
// manager's (Apache ECharts, served from node_modules). The tables beside them carry every figure.
(function () {
  "use strict";
  if (!window.echarts) { return; }
  function read(id) { var n = document.getElementById(id); return n ? JSON.parse(n.textContent) : null; }
  function chart(id, option) {
    var node = document.getElementById(id);
    if (!node) { return; }
    var c = window.echarts.init(node);
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
  }
  function bars(names, series, stacked) {
    return { tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { top: 40, bottom: 60 },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: 20 } }, yAxis: { type: "value" },
      series: series.map(function (s) { return { name: s.name, type: "bar", stack: stacked ? "s" : undefined, data: s.data }; }) };
  }
  var finance = read("finance-charts");
  if (finance) {
    chart("chart-collection", bars(finance.trend.days, [
      { name: finance.trend.labels[0], data: finance.trend.due }, { name: finance.trend.labels[1], data: finance.trend.received }], false));
    chart("chart-suspense", bars(finance.ageing.names, [{ name: "", data: finance.ageing.amounts }], false));
  }
  var risk = read("risk-charts");
  if (risk) {
    chart("chart-flag-rules", bars(risk.rules.names, risk.rules.series, true));
    chart("chart-flag-ageing", bars(risk.ageing.names, [{ name: "", data: risk.ageing.values }], false));
    chart("chart-flag-outcomes", bars(risk.outcomes.names, risk.outcomes.series, true));
  }
  var manager = read("dashboard-charts");
  if (manager && manager.outcomes) {
    chart("chart-outcomes", bars(manager.outcomes.names, [{ name: "", data: manager.outcomes.values }], false));
    chart("chart-reasons", { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: "65%", data: manager.reasons }] });
    chart("chart-feedback", bars(manager.feedback.names, [{ name: "", data: manager.feedback.values }], false));
    chart("chart-deciles", { tooltip: { trigger: "axis" }, xAxis: { type: "category", data: manager.deciles.names },
      yAxis: { type: "value", axisLabel: { formatter: "{value}%" } }, series: [{ type: "bar", data: manager.deciles.rates }] });
  }
}());
