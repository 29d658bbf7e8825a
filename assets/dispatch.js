/* Map functions of the work pages (dispatch console, intake, department), referenced from
   dash-leaflet props as {variable: "citygridDispatch.<name>"}.

   Case markers are circle markers with a class per case (case-<id>) so a click can be
   located; tooltips are built with textContent, never HTML, because descriptions and
   names can contain anything a person typed. */
window.citygridDispatch = (function () {
  var LIGHT = {green: "#2ecc71", yellow: "#f1c40f", red: "#ff4d4f", none: "#8da2c0"};

  function safeId(id) {
    return String(id || "").replace(/[^A-Za-z0-9]/g, "");
  }

  function inPane(context, name) {
    // a pane the page created (dl.Pane), else Leaflet's default for the layer
    return context && context.map && name && context.map.getPane(name) ? name : undefined;
  }

  function pointToLayer(feature, latlng, context) {
    var p = feature.properties || {};
    var filed = p.kind === "filed" || p.kind === "work";  // the page's own work, coloured by its light
    var hideout = (context && context.hideout) || {};
    var selected = hideout.selected === p.case_id;
    var chosen = (hideout.chosen || []).indexOf(p.case_id) >= 0;  // in a box selection on the map
    var colour = LIGHT[p.light] || LIGHT.none;
    var options = {
      radius: selected ? 11 : (chosen ? 10 : (p.kind === "filed" ? 8 : (filed ? 6 : 5))),
      color: selected ? "#ffffff" : (chosen ? "#3ea6ff" : (filed ? "#e6edf7" : colour)),
      weight: selected || chosen ? 3 : (p.kind === "filed" ? 2 : 1),
      fillColor: filed ? colour : "#3ea6ff",
      fillOpacity: filed ? 0.95 : 0.7,
      bubblingMouseEvents: false,  // a click on a case is not a click on the map (intake picks positions)
      className: "case-marker case-" + safeId(p.case_id) + " case-" + safeId(p.kind) + (chosen ? " case-chosen" : "")
    };
    // A circle marker is drawn in the overlay pane unless told otherwise, i.e. *under* the
    // cluster icons of the marker pane: the waiting cases go to their own pane above them.
    var pane = inPane(context, hideout.pane);
    if (pane) { options.pane = pane; }
    return L.circleMarker(latlng, options);
  }

  function labelToLayer(feature, latlng, context) {
    var span = document.createElement("span");
    span.textContent = String((feature.properties || {}).n || "");
    var options = {icon: L.divIcon({html: span, className: "street-label", iconSize: null}),
                   interactive: false, keyboard: false};
    var pane = inPane(context, "citygrid-roads");
    if (pane) { options.pane = pane; }
    return L.marker(latlng, options);
  }

  function onEachFeature(feature, layer) {
    var p = feature.properties || {};
    if (p.cluster) { return; }
    var box = document.createElement("div");
    box.className = "case-tooltip";
    var head = document.createElement("strong");
    head.textContent = String(p.case_id || "");
    box.appendChild(head);
    [p.label, p.place, p.stage_label].forEach(function (text) {
      if (text) {
        var line = document.createElement("div");
        line.textContent = String(text);
        box.appendChild(line);
      }
    });
    layer.bindTooltip(box, {direction: "top", offset: [0, -6]});
  }

  function clusterToLayer(feature, latlng, index, context) {
    var count = Number(feature.properties.point_count) || 0;
    var size = count < 10 ? 24 : (count < 100 ? 30 : 36);
    var el = document.createElement("div");
    el.className = "case-cluster";
    var label = document.createElement("span");
    label.textContent = String(count);
    el.appendChild(label);
    return L.marker(latlng, {icon: L.divIcon({html: el, className: "case-cluster-icon",
                                               iconSize: L.point(size, size)})});
  }

  function pickedToLayer(feature, latlng) {
    return L.circleMarker(latlng, {radius: 9, color: "#ffffff", weight: 3, fillColor: "#3ea6ff",
                                   fillOpacity: 0.9, className: "picked-position"});
  }

  return {pointToLayer: pointToLayer, onEachFeature: onEachFeature, clusterToLayer: clusterToLayer,
          pickedToLayer: pickedToLayer, labelToLayer: labelToLayer};
})();
