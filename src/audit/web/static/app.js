// The workspace's own script: charts from the data a page embeds, nothing else.
(function () {
  "use strict";
  function drawCharts(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (node) {
      if (node.dataset.drawn) { return; }
      var spec = JSON.parse(node.getAttribute("data-chart"));
      var chart = window.echarts.init(node, null, { renderer: "svg" });
      var option = {
        grid: { left: 8, right: 96, top: 24, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: { type: "value", name: spec.unit || "", axisLabel: { hideOverlap: true } },
        yAxis: { type: "category", data: spec.labels, inverse: true, axisLabel: { width: 120, overflow: "truncate" } },
        series: [{ type: "bar", data: spec.values, itemStyle: { color: spec.color || "#1d3c6e" },
                   label: { show: true, position: "right", formatter: spec.format === "money"
                     ? function (p) { return Number(p.value).toLocaleString("zh-CN", { minimumFractionDigits: 2 }); }
                     : "{c}" } }]
      };
      chart.setOption(option);
      node.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
