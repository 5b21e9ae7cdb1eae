// Runs offline, no dependencies. Click a table header to sort; then record that every chart rendered,
// so a headless browser (and a reader) can tell the page ran without errors.
(function () {
  "use strict";
  // null for a value that was not measured (an empty data-sort): sorted last whichever the direction
  function cellValue(row, index) {
    var cell = row.children[index];
    if (!cell) { return null; }
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (raw === "") { return null; }
    var num = parseFloat(raw);
    return isNaN(num) ? raw.trim().toLowerCase() : num;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th").forEach(function (th, index) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var asc = th.getAttribute("data-dir") !== "asc";
        rows.sort(function (a, b) {
          var x = cellValue(a, index), y = cellValue(b, index);
          if (x === null || y === null) { return x === y ? 0 : x === null ? 1 : -1; }
          return (x > y ? 1 : x < y ? -1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
        th.setAttribute("data-dir", asc ? "asc" : "desc");
      });
    });
  });
  var charts = document.querySelectorAll("figure.chart");
  var drawn = 0;
  charts.forEach(function (figure) {
    var svg = figure.querySelector("svg");
    if (svg && svg.querySelectorAll("circle, rect, line, path, polyline").length > 0) { drawn += 1; }
  });
  var status = document.getElementById("render-status");
  status.setAttribute("data-charts", String(drawn));
  status.setAttribute("data-ok", drawn === charts.length ? "true" : "false");
  status.textContent = "rendered " + drawn + " of " + charts.length + " charts";
})();
