// The workspace's own script: charts from the data a page embeds, and drop zones for uploads.
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
  // A file dropped on a drop zone goes into its file input (the form then posts as usual).
  function dropZones(root) {
    root.querySelectorAll("[data-drop-target]").forEach(function (zone) {
      if (zone.dataset.ready) { return; }
      var input = zone.querySelector("input[type=file]");
      var text = zone.querySelector(".drop-text");
      function show() { if (input.files.length) { text.textContent = input.files[0].name; } }
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function () { zone.classList.remove("over"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        if (event.dataTransfer && event.dataTransfer.files.length) { input.files = event.dataTransfer.files; show(); }
      });
      input.addEventListener("change", show);
      zone.dataset.ready = "1";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); dropZones(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); dropZones(event.target); });
})();
