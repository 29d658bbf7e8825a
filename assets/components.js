/* The city-components map layer (layouts/components_map.py), referenced from dash-leaflet
   props as {variable: "citygridComponents.<name>"}.

   The server sends clusters ({n: count, g: major class}) when zoomed out and components
   ({c: code, k: kind, m: maintainer, s: status}) when zoomed in; names and colours come once
   with the layer as its hideout.  Popups are built with textContent, never HTML. */
window.citygridComponents = (function () {
  function legend(context) {
    return (context && context.hideout) || {};
  }

  function safe(text) {
    return String(text || "").replace(/[^A-Za-z0-9]/g, "");
  }

  function pointToLayer(feature, latlng, context) {
    var p = feature.properties || {}, h = legend(context), colours = h.colours || {};
    if (p.n !== undefined && !p.c) {
      var radius = Math.min(20, 6 + 2.4 * Math.log(p.n + 1));
      return L.circleMarker(latlng, {radius: radius, color: colours[p.g] || "#8da2c0", weight: 1.5,
                                     fillColor: colours[p.g] || "#8da2c0", fillOpacity: 0.35,
                                     bubblingMouseEvents: false,
                                     className: "component-cluster component-class-" + safe(p.g)});
    }
    var cls = p.g || String(p.k || "").substr(1, 2);
    return L.circleMarker(latlng, {radius: 4.5, color: p.s ? "#ff4d4f" : "#0a1020", weight: p.s ? 2 : 1,
                                   fillColor: colours[cls] || "#8da2c0", fillOpacity: 0.9,
                                   bubblingMouseEvents: false,
                                   className: "component-marker component-" + safe(p.c)});
  }

  function line(box, label, value) {
    var row = document.createElement("div");
    var name = document.createElement("span");
    name.className = "muted";
    name.textContent = String(label || "") + " ";
    row.appendChild(name);
    var text = document.createElement("span");
    text.textContent = String(value || "—");
    row.appendChild(text);
    box.appendChild(row);
  }

  function onEachFeature(feature, layer, context) {
    var p = feature.properties || {};
    var hide = legend(context);
    if (p.n !== undefined && !p.c) {
      layer.on("click", function (e) {
        var map = layer._map;
        if (map) { map.setView(e.latlng, Math.min(map.getZoom() + 2, map.getMaxZoom())); }
      });
      return;
    }
    layer.bindPopup(function () {
      var texts = hide.texts || {}, kinds = hide.kinds || {}, departments = hide.departments || {};
      var box = document.createElement("div");
      box.className = "component-popup";
      var head = document.createElement("strong");
      head.textContent = String(p.c || "");
      box.appendChild(head);
      if (p.k) {
        line(box, texts.kind, kinds[p.k] || p.k);
        line(box, texts.maintainer, departments[p.m] || p.m);
        line(box, texts.status, (hide.statuses || {})[p.s || "in_service"]);
      }
      var link = document.createElement("a");
      link.href = "/components/" + safe(p.c) + "?lang=" + (hide.lang === "en" ? "en" : "zh");
      link.target = "_blank";
      link.className = "component-link";
      link.textContent = String(texts.page_link || "→");
      box.appendChild(link);
      return box;
    });
  }

  return {pointToLayer: pointToLayer, onEachFeature: onEachFeature};
})();
