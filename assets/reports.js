/* The report pages (/regions, /inspectors): map styles and tooltips referenced from
   dash-leaflet props as {variable: "citygridReports.<name>"}, and the AG Grid value
   formatters (window.dashAgGridFunctions.cg*).  Tooltips are built with textContent:
   names and labels are data, never HTML. */
window.citygridReports = (function () {
  var NONE = "#22304d";
  var state = {grid: null};   // the inspectors' map: latest hideout, for tooltips

  function tip(lines) {
    var box = document.createElement("div");
    box.className = "report-tip";
    lines.forEach(function (text, i) {
      if (text === undefined || text === null || text === "") { return; }
      var line = document.createElement(i === 0 ? "strong" : "div");
      line.textContent = String(text);
      box.appendChild(line);
    });
    return box;
  }

  function regionStyle(feature, context) {
    var p = feature.properties || {}, h = (context && context.hideout) || {};
    var ramp = h.ramp || [];
    var selected = h.selected && h.selected === p.code;
    return {fillColor: p.c >= 0 ? ramp[p.c] : NONE, fillOpacity: p.c >= 0 ? 0.78 : 0.35,
            color: selected ? "#ffffff" : "#0b1220", weight: selected ? 3 : 1, opacity: 0.9};
  }

  function regionEach(feature, layer) {
    var p = feature.properties || {};
    layer.bindTooltip(tip([p.label]), {sticky: true});
    layer.on("mouseover", function () { layer.setStyle({weight: 2.5, color: "#e6edf7"}); });
    layer.on("mouseout", function () { layer.setStyle({weight: 1, color: "#0b1220"}); });
  }

  function casePoint(feature, latlng) {
    var p = feature.properties || {};
    var closed = p.stage === "closed", rejected = p.stage === "rejected";
    return L.circleMarker(latlng, {radius: 6, weight: 2, color: "#e6edf7", fillOpacity: 0.95, pane: "regions-cases",
      fillColor: closed ? "#2ecc71" : (rejected ? "#8da2c0" : "#f1c40f"),
      className: "report-case case-" + String(p.case_id || "").replace(/[^A-Za-z0-9]/g, "")});
  }

  function caseEach(feature, layer) {
    layer.bindTooltip(tip([(feature.properties || {}).label]), {direction: "top"});
  }

  // ---- inspectors' map: the grid layer of /geo/grids.geojson (property i = grid index);
  // hideout.g[i] = inspector index, hideout.c[k] = colour index of inspector k.
  function gridStyle(feature, context) {
    var h = (context && context.hideout) || {};
    state.grid = h;
    var i = feature.properties.i, k = h.g ? h.g[i] : -1;
    var c = k >= 0 && h.c ? h.c[k] : -1;
    var selected = k >= 0 && h.sel === k;
    return {fillColor: c >= 0 ? h.ramp[c] : NONE, fillOpacity: c >= 0 ? 0.8 : 0.3,
            color: selected ? "#ffffff" : "#0b1220", weight: selected ? 2.2 : 0.4, opacity: 0.9};
  }

  function gridEach(feature, layer) {
    layer.bindTooltip(function () {
      var h = state.grid || {}, i = feature.properties.i, k = h.g ? h.g[i] : -1;
      var who = k >= 0 && h.n ? h.n[k] : null;
      return tip(who ? [who[0], who[1]] : [h.none || ""]);
    }, {sticky: true});
  }

  return {regionStyle: regionStyle, regionEach: regionEach, casePoint: casePoint, caseEach: caseEach,
          gridStyle: gridStyle, gridEach: gridEach};
})();

window.dashAgGridFunctions = Object.assign(window.dashAgGridFunctions || {}, {
  cgPct: function (v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(1) + "%"; },
  cgNum: function (v, digits) {
    if (v === null || v === undefined || v === "") { return "—"; }
    return Number(v).toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  },
  cgTime: function (v) {
    if (!v) { return "—"; }
    // ISO instants → Beijing time (UTC+8, no daylight saving), "YYYY-MM-DD HH:MM"
    var t = new Date(new Date(v).getTime() + 8 * 3600 * 1000).toISOString();
    return t.slice(0, 10) + " " + t.slice(11, 16);
  },
  cgText: function (v) { return v === null || v === undefined || v === "" ? "—" : String(v); }
});
