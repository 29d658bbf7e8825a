/*
 * The wall display in the browser (page /wall; see layouts/wall.py and callbacks/wall.py).
 *
 * Two namespaces:
 *  - window.dashExtensions.wall : functions dash-leaflet calls to draw (grid style, markers,
 *    clusters, pulses, labels).  Referenced from Python as {"variable": "dashExtensions.wall.X"}.
 *  - window.dash_clientside.wall : clientside callbacks.  `apply` merges each tick's delta
 *    from the server into the page; `clock` runs every second without the server (clock,
 *    freshness, "connection lost" watchdog); `view` switches colouring and rotates views.
 *
 * Why so much happens here: the server sends only what changed (a few hundred bytes a tick),
 * so the browser keeps the state (grid numbers, open-case markers, ticker) and restyles
 * just the grids that changed, instead of receiving and redrawing 3,000 polygons.
 *
 * Safety: every user-typed text (case descriptions) reaches the DOM through textContent or
 * as Dash children strings, never as HTML; Leaflet tooltips and icons get DOM elements.
 */
(function () {
  "use strict";

  var W = (window.citygridWall = window.citygridWall || {
    layers: {}, open: [], overdue: [], mode: "open", hideout: null,
    markers: new Map(), fresh: new Map(), newest: null, ticker: [],
    received: 0, offset: 0, health: null, serverT: 0, version: null,
    lightKey: "", pulseUntil: 0, markerRevision: 0, cfg: null,
  });
  var PULSE_MS = 8000, MAX_PULSES = 40;  // a burst of reports must not flood the map
  var NO = function () { return window.dash_clientside.no_update; };

  function now() { return Date.now() + W.offset; }              // server-aligned clock
  function scale() { return Math.max(1, window.innerHeight / 1080); } // 4K walls: bigger symbols

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function classColour(classes, n) {
    var colour = null;
    for (var k = 0; k < classes.length; k++) if (n >= classes[k][0]) colour = classes[k][1];
    return colour;
  }

  function light(warn, deadline, t) {
    if (!deadline) return null;
    if (t >= deadline * 1000) return "red";
    if (warn && t >= warn * 1000) return "yellow";
    return "green";
  }

  // ---- grids -----------------------------------------------------------------------------
  function gridStyleOf(i) {
    var h = W.hideout;
    var overdue = W.mode === "overdue";
    var n = (overdue ? W.overdue : W.open)[i] || 0;
    var colour = h && n ? classColour(overdue ? h.overdue : h.open, n) : null;
    return colour
      ? { fillColor: colour, fillOpacity: 0.88, color: "#0a1426", weight: 0.6, opacity: 0.9 }
      : { fillColor: "#000000", fillOpacity: 0, color: "#1a2d4d", weight: 0.5, opacity: 0.8 };
  }

  function restyle(indexes) {
    for (var k = 0; k < indexes.length; k++) {
      var layer = W.layers[indexes[k]];
      if (layer) layer.setStyle(gridStyleOf(indexes[k]));
    }
  }

  function restyleAll() {
    for (var i in W.layers) W.layers[i].setStyle(gridStyleOf(+i));
  }

  // ---- markers ---------------------------------------------------------------------------
  function feature(m) {
    return { type: "Feature", geometry: { type: "Point", coordinates: [m[1], m[2]] },
             properties: { id: m[0], s: m[3], w: m[4], d: m[5], c: m[6], st: m[7], t: m[8] } };
  }

  function tooltipFor(p) {
    // Built from DOM nodes: a description like <img onerror=…> stays inert text.
    var cfg = W.cfg || {};
    var box = el("div", "wall-tip");
    box.appendChild(el("b", null, p.id));
    box.appendChild(el("div", null, ((cfg.markerStages || [])[p.s] || "") + " · " + ((cfg.categories || {})[p.c] || p.c)));
    if (p.t) box.appendChild(el("div", "wall-tip-text", p.t));
    return box;
  }

  function markersData() {
    var features = [];
    W.markers.forEach(function (m) { features.push(feature(m)); });
    return { type: "FeatureCollection", features: features };
  }

  function pulsesData(t) {
    var features = [];
    W.fresh.forEach(function (at, id) {
      var m = W.markers.get(id);
      if (!m || t - at > PULSE_MS) { W.fresh.delete(id); return; }
      var f = feature(m);
      f.properties.newest = id === W.newest;
      features.push(f);
    });
    return { type: "FeatureCollection", features: features };
  }

  function lightKey(t) {
    // Traffic lights move with time even when no event arrives: redraw when any changes.
    var yellow = 0, red = 0;
    W.markers.forEach(function (m) {
      var l = light(m[4], m[5], t);
      if (l === "red") red++; else if (l === "yellow") yellow++;
    });
    return yellow + "/" + red;
  }

  // ---- text formatting -------------------------------------------------------------------
  function fmt(template, n) { return String(template).replace("{n}", n); }
  function num(v) { return v === null || v === undefined ? (W.cfg ? W.cfg.text.none : "—") : String(v); }
  function pct(v) { return v === null || v === undefined ? num(null) : v.toFixed(v >= 99.95 ? 0 : 1) + "%"; }

  function timeOf(ms, cfg, withSeconds) {
    return new Date(ms).toLocaleTimeString(cfg.locale, { timeZone: cfg.tz, hour12: false, hour: "2-digit",
      minute: "2-digit", second: withSeconds ? "2-digit" : undefined });
  }

  function H(type, props) { return { type: type, namespace: "dash_html_components", props: props }; }

  function boardLine(r, cfg) {
    var onTime = r[3], rework = r[4], ratio = r[8];
    var level = function (bad, warn) { return bad ? " bad" : warn ? " warn" : ""; };
    // A row opens the department's evaluation page (/departments/<code>).  The ratio is the
    // on-time rate against its target (CityScore: ≥ 1 meets it) — green, amber or red at a glance.
    return H("A", { className: "wall-board-row grade-" + r[7], href: "/departments/" + encodeURIComponent(r[0]), children: [
      H("Span", { className: "dept", children: cfg.departments[r[0]] || r[0] }),
      H("Span", { className: "n", children: String(r[1]) }),
      H("Span", { className: "n" + (r[2] ? " bad" : ""), children: String(r[2]) }),
      H("Span", { className: "n" + level(onTime !== null && onTime < 80, onTime !== null && onTime < 90), children: pct(onTime) }),
      H("Span", { className: "ratio" + (ratio === null || ratio === undefined ? "" : ratio >= 1 ? " good" : ratio >= 0.9 ? " warn" : " bad"),
                  children: ratio === null || ratio === undefined ? num(null) : ratio.toFixed(2) }),
      H("Span", { className: "n k4" + level(rework !== null && rework > 10, rework !== null && rework > 5), children: pct(rework) }),
      H("Span", { className: "n k4 score", children: r[6].toFixed(1) }),
      H("Span", { className: "grade", children: r[7] }),
    ] });
  }

  function boardRows(rows, cfg) {
    if (!rows.length) return [H("Div", { className: "wall-empty", children: cfg.text["board.empty"] })];
    // Two groups, professional departments then street offices, each worst first; the lines
    // that fit (more at 4K) are shared between them, and what does not fit is counted.
    var fit = window.innerHeight >= 1800 ? cfg.boardRows4k : cfg.boardRows;
    var streets = {}; (cfg.streetDepartments || []).forEach(function (c) { streets[c] = 1; });
    var groups = [["board.professional", rows.filter(function (r) { return !streets[r[0]]; })],
                  ["board.street", rows.filter(function (r) { return streets[r[0]]; })]]
      .filter(function (g) { return g[1].length; });
    var budget = fit - groups.length, out = [];
    groups.forEach(function (g, k) {
      var left = groups.length - k - 1;
      var room = left ? Math.max(2, Math.min(g[1].length, Math.ceil(budget / 2))) : budget;
      var more = g[1].length > room ? g[1].length - (room - 1) : 0;
      var shown = more ? g[1].slice(0, room - 1) : g[1];
      budget -= more ? room : shown.length;
      out.push(H("Div", { className: "wall-board-group", children: cfg.text[g[0]] }));
      shown.forEach(function (r) { out.push(boardLine(r, cfg)); });
      if (more) out.push(H("Div", { className: "wall-board-more", children: fmt(cfg.text["board.more"], more) }));
    });
    return out;
  }

  function tickerRows(rows, cfg, fresh) {
    if (!rows.length) return [H("Div", { className: "wall-empty", children: cfg.text["ticker.empty"] })];
    // Only rows that just arrived flash; the class alternates between two animations so a
    // row node React reuses at the top restarts its animation (same class would not).
    W.flip = !W.flip;
    var flash = W.flip ? " new-a" : " new-b";
    return rows.map(function (r, k) {
      return H("Div", { className: "wall-tick-row type-" + r[3] + (k < fresh ? flash : ""), children: [
        H("Span", { className: "time", children: timeOf(r[1], cfg, true) }),
        H("Span", { className: "kind", children: cfg.events[r[3]] || r[3] }),
        H("Span", { className: "case", children: r[2] }),
        H("Span", { className: "cat", children: cfg.categories[r[4]] || r[4] }),
        H("Span", { className: "street", children: r[5] >= 0 ? cfg.streets[r[5]] : "" }),
        H("Span", { className: "text", children: r[6] }),
      ] });
    });
  }

  function watchResize(map) {
    // A wall may be opened in a window and then go full screen (or move to a 4K output):
    // keep the current view filling the map rather than keeping the old zoom.
    W.map = map;
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var bounds = W.viewBounds || (W.cfg && W.cfg.bounds);
        map.invalidateSize();
        if (bounds) map.fitBounds(bounds, { padding: [12, 12], animate: false });
      }, 250);
    });
  }

  // ---- Leaflet functions -----------------------------------------------------------------
  window.dashExtensions = Object.assign({}, window.dashExtensions, { wall: {
    gridStyle: function (feature, context) {
      W.hideout = W.hideout || context.hideout;
      if (!W.map && context.map) watchResize(context.map);
      return gridStyleOf(feature.properties.i);
    },
    gridEach: function (feature, layer) { W.layers[feature.properties.i] = layer; },
    marker: function (feature, latlng, context) {
      var h = context.hideout, p = feature.properties, l = light(p.w, p.d, now());
      return L.circleMarker(latlng, { radius: 5.5 * scale(), fillColor: h.stages[p.s] || "#ccc", fillOpacity: 0.95,
        color: l ? h.lights[l] : "#64748b", weight: 2.5 * scale(), opacity: 1 });
    },
    markerEach: function (feature, layer) {
      if (feature.properties.cluster) return;
      layer.bindTooltip(tooltipFor(feature.properties), { direction: "top", className: "wall-tooltip" });
    },
    cluster: function (feature, latlng, index) {
      var leaves = index.getLeaves(feature.properties.cluster_id, Infinity), t = now(), red = 0;
      for (var k = 0; k < leaves.length; k++) {
        var d = leaves[k].properties.d;
        if (d && t >= d * 1000) red++;
      }
      var n = feature.properties.point_count;
      var size = Math.round((20 + 8 * Math.log10(n)) * scale());
      var box = el("div", "wall-cluster" + (red ? " has-overdue" : ""));
      box.style.width = box.style.height = size + "px";
      box.appendChild(el("span", "n", feature.properties.point_count_abbreviated));
      if (red) box.appendChild(el("span", "red", red));
      return L.marker(latlng, { icon: L.divIcon({ html: box, className: "wall-cluster-icon", iconSize: L.point(size, size) }),
        keyboard: false });
    },
    pulse: function (feature, latlng) {
      var p = feature.properties, size = Math.round(22 * scale());
      var ring = el("div", "wall-pulse");
      ring.dataset.case = p.id;  // lets tests and the benchmark see when a case reached the screen
      var marker = L.marker(latlng, { icon: L.divIcon({ html: ring, className: "wall-pulse-icon", iconSize: L.point(size, size) }),
        interactive: false, keyboard: false, zIndexOffset: 1000 });
      return marker;
    },
    label: function (feature, latlng) {
      return L.marker(latlng, { icon: L.divIcon({ html: el("span", null, feature.properties.n),
        className: "wall-street-label", iconSize: null }), interactive: false, keyboard: false });
    },
  } });

  // ---- clientside callbacks --------------------------------------------------------------
  function inSlotOrder(output, values) {
    // Pattern-matched outputs come in page order, not slot order (the closed-stage card shows
    // its slots the other way round): place each value by its slot number.
    var ctx = window.dash_clientside.callback_context;
    var ids = ctx && ctx.outputs_list && ctx.outputs_list[output];
    if (!ids || !ids.length) return values;
    return ids.map(function (o) { return values[o.id.slot]; });
  }

  function apply(payload, cfg) {
    // Pushed payloads wait in W.inbox (assets/wall_live.js) and the store only signals them:
    // two events can arrive while Dash still runs the previous apply, and a store keeps only
    // its last value — a lost delta would be a lost marker.  So every waiting payload is
    // applied here, in order, and the page gets the outputs of the last state.
    if (payload && payload.inbox) {
      var items = W.inbox ? W.inbox.splice(0) : [], out = null;
      items.forEach(function (p) {
        var o = applyOne(p, cfg);
        if (!out) out = o;
        else o.forEach(function (v, k) { if (v !== NO()) out[k] = v; });
      });
      return out || applyOne(null, cfg);
    }
    return applyOne(payload, cfg);
  }

  function applyOne(payload, cfg) {
    var nOut = 7;
    if (!payload || !cfg) { var out = []; for (var k = 0; k < nOut; k++) out.push(NO()); return out; }
    W.cfg = cfg;
    var t = Date.now();
    W.received = t; W.offset = payload.t - t; W.health = payload.h; W.serverT = payload.t;
    var full = !!payload.full;
    var stages = NO(), side = NO(), board = NO(), ticker = NO(), markers = NO(), pulses = NO();
    if (payload.s) {
      var values = [];
      payload.s.forEach(function (row) { values.push(num(row[0]), num(row[1]), num(row[2])); });
      stages = inSlotOrder(1, values);
      side = inSlotOrder(2, payload.x.map(num));
    }
    if (payload.b) board = boardRows(payload.b, cfg);
    if (payload.k) {
      W.ticker = (full ? payload.k : payload.k.concat(W.ticker)).slice(0, cfg.tickerRows);
      ticker = tickerRows(W.ticker, cfg, full ? 0 : payload.k.length);
    }
    if (payload.g) {
      if (full) {
        W.open = payload.g.o; W.overdue = payload.g.d; restyleAll();
      } else {
        var changed = [];
        payload.g.forEach(function (c) { W.open[c[0]] = c[1]; W.overdue[c[0]] = c[2]; changed.push(c[0]); });
        restyle(changed);
      }
    }
    var markersChanged = false, st = now();
    if (payload.m) {
      markersChanged = true;
      if (full) {
        W.markers = new Map();
        payload.m.forEach(function (m) { W.markers.set(m[0], m); });
        W.fresh = new Map();
      } else {
        payload.m.r.forEach(function (id) { W.markers.delete(id); });
        payload.m.u.forEach(function (m) {
          if (!W.markers.has(m[0]) && m[3] === 0) {
            W.fresh.set(m[0], t); W.newest = m[0];
            if (W.fresh.size > MAX_PULSES) W.fresh.delete(W.fresh.keys().next().value);  // oldest first
          }
          W.markers.set(m[0], m);
        });
      }
    }
    var key = lightKey(st);
    if (key !== W.lightKey) { W.lightKey = key; markersChanged = true; }
    if (markersChanged) markers = markersData();
    if (W.fresh.size || W.pulseUntil) {
      pulses = pulsesData(t);
      W.pulseUntil = pulses.features.length ? 1 : 0;  // one more redraw after the last pulse ends
    }
    if (W.live) W.live.received(payload, cfg, markersChanged);
    return [payload.v, stages, side, board, ticker, markers, pulses];
  }

  function clock(_, cfg) {
    if (!cfg) return [NO(), NO(), NO(), NO(), NO(), NO()];
    if (W.live) W.live.second(cfg);  // push, playlist, alarm clock (assets/wall_live.js)
    var t = Date.now(), server = t + W.offset;
    var time = timeOf(server, cfg, true);
    var date = new Date(server).toLocaleDateString(cfg.locale, { timeZone: cfg.tz, year: "numeric", month: "long",
      day: "numeric", weekday: "long" });
    var fresh = cfg.text["fresh.waiting"], freshClass = "wall-fresh waiting", banner = "", bad = false;
    if (W.received) {
      var h = W.health || [0, 1, 1, 0];
      // Age = backlog age at the snapshot + how old the snapshot is now (server-aligned).
      var age = Math.max(0, h[0] + (server - W.serverT) / 1000);
      var rounded = Math.round(age);
      fresh = fmt(cfg.text["fresh.ok"], rounded);
      if (t - W.received > cfg.staleMs || (W.down && t - W.down > 4000)) {
        banner = cfg.text["banner.offline"];
        fresh = fmt(cfg.text["fresh.ok"], Math.round(rounded + (t - W.received) / 1000));
      }
      else if (!h[1]) { banner = cfg.text["banner.redis"]; fresh = cfg.text["fresh.unknown"]; }
      else if (!h[2]) { banner = cfg.text["banner.db"]; fresh = cfg.text["fresh.unknown"]; }
      else if (h[3] || age * 1000 > cfg.staleMs) { banner = fmt(cfg.text["banner.stale"], rounded); }
      bad = !!banner;
      freshClass = "wall-fresh " + (bad ? "bad" : "ok");
    }
    return [time, date, fresh, freshClass, banner, "wall-banner" + (bad ? "" : " hidden")];
  }

  function view(nRotate, nOpen, nOverdue, cfg) {
    var ctx = window.dash_clientside.callback_context;
    var trigger = ctx && ctx.triggered && ctx.triggered.length ? ctx.triggered[0].prop_id : "";
    var viewport = NO(), label = NO();
    if (trigger.indexOf("wall-mode-open") === 0) W.mode = "open";
    else if (trigger.indexOf("wall-mode-overdue") === 0) W.mode = "overdue";
    else if (trigger.indexOf("wall-rotate") === 0 && cfg && nRotate) {
      // district → street k → district (other colouring) → street k+1 → …
      var step = nRotate % 2, round = Math.floor(nRotate / 2);
      if (step === 1) {
        var s = round % cfg.streets.length;
        viewport = { bounds: cfg.streetBounds[s], transition: "flyToBounds" };
        W.viewBounds = cfg.streetBounds[s];
        label = cfg.streets[s];
      } else {
        viewport = { bounds: cfg.bounds, transition: "flyToBounds" };
        W.viewBounds = cfg.bounds;
        label = cfg.text["view.district"];
        W.mode = W.mode === "open" ? "overdue" : "open";
      }
    } else { return [NO(), NO(), NO(), NO(), NO(), NO()]; }
    restyleAll();
    var overdue = W.mode === "overdue";
    return [viewport, label, "wall-mode" + (overdue ? "" : " active"), "wall-mode" + (overdue ? " active" : ""),
            "wall-legend" + (overdue ? " hidden" : ""), "wall-legend" + (overdue ? "" : " hidden")];
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, { wall: { apply: apply, clock: clock, view: view } });
})();
