"use strict";
// Sort any table by a header click, filter it from its search box. Reads cells, writes nothing but order
// and visibility; never parses HTML, never evaluates text, never fetches.
(function () {
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent.trim().toLowerCase() : v;
  }
  function compare(a, b, numeric) {
    if (numeric) { return (parseFloat(a) || 0) - (parseFloat(b) || 0); }
    return a < b ? -1 : a > b ? 1 : 0;
  }
  document.querySelectorAll("table.data").forEach(function (table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      th.setAttribute("data-sortable", "");
      th.setAttribute("tabindex", "0");
      function sort() {
        var numeric = th.classList.contains("num");
        var descending = th.getAttribute("aria-sort") !== "descending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var c = compare(cellValue(a, index), cellValue(b, index), numeric);
          return descending ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    if (!table) { return; }
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var hit = !needle || row.textContent.toLowerCase().indexOf(needle) !== -1;
        row.classList.toggle("hidden", !hit);
      });
    });
  });
  document.documentElement.setAttribute("data-ready", "1");
})();
