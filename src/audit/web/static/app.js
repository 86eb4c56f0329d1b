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
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
// A file dropped anywhere on a drop zone (a label holding a file input) is that input's file.
(function () {
  "use strict";
  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) { event.preventDefault(); zone.classList.add("over"); }
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) { zone.classList.remove("over"); }
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone || !event.dataTransfer || !event.dataTransfer.files.length) { return; }
    event.preventDefault();
    zone.classList.remove("over");
    var input = zone.querySelector("input[type=file]");
    input.files = event.dataTransfer.files;
    var name = zone.querySelector("[data-file-name]");
    if (name) { name.textContent = event.dataTransfer.files[0].name; }
  });
  // A file chosen with the picker is named the same way.
  document.addEventListener("change", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    var name = zone && zone.querySelector("[data-file-name]");
    if (name && event.target.files && event.target.files.length) { name.textContent = event.target.files[0].name; }
  });
})();
