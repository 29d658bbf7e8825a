/*
 * The wall's live side (issue 13), beside assets/wall.js (loaded after it, same state object):
 *  - push: the server's event stream /wall/stream (dashboard/web/wall_push.py) feeds the
 *    wall-payload store, whose change runs wall.js's `apply`;
 *  - the alarm takeover: the payload's alarm queue (`a`) takes over the right of the wall, the
 *    map flies to the oldest alarm, its timeline and elapsed time run live, the acknowledge
 *    button (operators) acts on it; several alarms queue;
 *  - playlists (?playlist=district:60,street-110101001:20,departments:30): views with their own
 *    durations; an alarm holds the rotation;
 *  - what wall.js draws once a payload is in: the newest report in a corner of the map, the 4K
 *    street breakdown, and street labels moved clear of the case clusters.
 * `W.live.second(cfg)` runs every second (wall.js `clock`), `W.live.received(...)` after each
 * payload (wall.js `apply`).  User text reaches the DOM as Dash children strings (inert).
 */
(function () {
  "use strict";

  var W = window.citygridWall;
  if (!W) return;
  function set(id, props) { window.dash_clientside.set_props(id, props); }
  function H(type, props) { return { type: type, namespace: "dash_html_components", props: props }; }
  function fmt(template, n) { return String(template).replace("{n}", n); }
  function timeOf(ms, cfg) {
    return new Date(ms).toLocaleTimeString(cfg.locale, { timeZone: cfg.tz, hour12: false, hour: "2-digit",
      minute: "2-digit", second: "2-digit" });
  }

  // ---- push --------------------------------------------------------------------------------
  // The browser's EventSource reconnects by itself and sends the id of the last event
  // (Last-Event-ID: resume).  When it gave up (an error status while the server restarts, a 503
  // while full) the watchdog opens a new one with ?last= so the server still sends only what
  // was missed — or the whole state once, if it cannot.
  function streamUrl(cfg) {
    var q = [];
    if (W.scope) q.push("scope=" + encodeURIComponent(W.scope));
    if (W.lastId) q.push("last=" + encodeURIComponent(W.lastId));
    return cfg.streamUrl + (q.length ? "?" + q.join("&") : "");
  }

  function connect(cfg) {
    if (W.source) W.source.close();
    W.opened = Date.now();
    W.connects = (W.connects || 0) + 1;
    var source = W.source = new EventSource(streamUrl(cfg));
    source.onerror = function () { if (!W.down) W.down = Date.now(); };
    // the session ended (display token revoked, log-out elsewhere …; dashboard/web/wall_push.py):
    // reload (a display's URL carries its token), log in again and come back, or say why
    source.addEventListener("ended", function (e) {
      source.close();
      var body = {};
      try { body = JSON.parse(e.data); } catch (err) { body = {}; }
      if (body.reload) { window.location.reload(); return; }
      var target = body.location || "/session-ended?reason=token_revoked";
      if (body.next) {
        var here = window.location.pathname + window.location.search;
        target += (target.indexOf("?") === -1 ? "?" : "&") + "next=" + encodeURIComponent(here);
      }
      window.location.assign(target);
    });
    source.onmessage = function (e) {
      if (source !== W.source) return;     // an old stream still delivering after a switch
      W.down = 0;
      W.lastId = e.lastEventId || W.lastId;
      (W.inbox = W.inbox || []).push(JSON.parse(e.data));   // applied in order by wall.js `apply`
      set("wall-payload", { data: { inbox: (W.seq = (W.seq || 0) + 1) } });  // a new value: a change
    };
  }

  function watchStream(cfg) {
    if (cfg.transport !== "push") return;
    var wanted = W.scopeWanted === undefined ? (cfg.scope || "") : W.scopeWanted;
    if (!W.source || (W.scope || "") !== wanted) {
      if (W.source && (W.scope || "") !== wanted) W.lastId = null;  // another area: its whole state
      W.scope = wanted;
      connect(cfg);
    } else if (W.source.readyState === 2 && Date.now() - W.opened > 3000) {
      connect(cfg);
    }
  }

  // ---- playlist ----------------------------------------------------------------------------
  function showView(cfg, k) {
    var item = cfg.playlist[k], view = item[0], label, bounds = cfg.bounds, cls = "";
    W.viewIndex = k;
    W.viewUntil = Date.now() + item[1] * 1000;
    if (view.indexOf("street-") === 0) {
      var code = view.slice(7), s = cfg.streetCodes.indexOf(code);
      W.scopeWanted = code;            // the server cuts the data (and refuses what lies outside)
      bounds = cfg.streetBounds[s] || bounds;
      label = cfg.streets[s];
    } else {
      W.scopeWanted = cfg.scope || "";
      label = view === "departments" ? cfg.text["view.departments"] : (cfg.scopeName || cfg.text["view.district"]);
      cls = view === "departments" ? " view-departments" : "";
    }
    W.viewBounds = bounds;
    var root = document.getElementById("wall-root");
    if (W.rootClass === undefined) W.rootClass = root ? root.className : "wall";
    set("wall-root", { className: W.rootClass + cls });
    set("wall-view", { children: label });
    if (W.map && bounds && !W.alarmShown) W.map.flyToBounds(bounds, { padding: [6, 6], duration: 1.2 });
  }

  function rotate(cfg) {
    if (!cfg.playlist || !cfg.playlist.length || W.alarmShown) return;  // an alarm holds the rotation
    if (W.viewIndex === undefined) { showView(cfg, 0); return; }
    if (Date.now() >= W.viewUntil) showView(cfg, (W.viewIndex + 1) % cfg.playlist.length);
  }

  // ---- alarm takeover ----------------------------------------------------------------------
  function elapsed(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s % 60).padStart(2, "0");
  }

  function alarmPin(a) {
    if (!W.map || !window.L) return;
    if (W.alarmPin) { W.alarmPin.remove(); W.alarmPin = null; }
    if (!a) return;
    var ring = document.createElement("div");
    ring.className = "wall-alarm-pin";
    ring.dataset.case = a[0];
    W.alarmPin = L.marker([a[2], a[1]], { icon: L.divIcon({ html: ring, className: "wall-pulse-icon",
      iconSize: L.point(44, 44) }), interactive: false, keyboard: false, zIndexOffset: 2000 }).addTo(W.map);
  }

  function renderAlarm(cfg) {
    var alarms = W.alarms || [], head = alarms[0];
    var id = head ? head[0] : null;
    if (id !== W.alarmShown) {        // a new alarm at the head of the queue (or none left)
      W.alarmShown = id;
      set("wall-alarm-case", { data: id });
      set("wall-alarm-panel", { className: "wall-alarm" + (id ? "" : " hidden") });
      alarmPin(head);
      if (W.map) {
        if (head) W.map.flyTo([head[2], head[1]], Math.max(W.map.getZoom(), 16), { duration: 1.2 });
        else W.map.flyToBounds(W.viewBounds || cfg.bounds, { padding: [6, 6], duration: 1.2 });
      }
      if (!id) set("wall-alarm-msg", { children: "" });
    }
    if (!head) return;
    var now = Date.now() + W.offset + (cfg.sysOffsetMs || 0);
    var lines = head[8].map(function (e) {
      return H("Li", { children: [H("B", { children: timeOf(e[1], cfg) }), " ", cfg.events[e[0]] || e[0]] });
    });
    set("wall-alarm", { children: [
      H("Div", { className: "wall-alarm-title", children: cfg.text["alarm.title"] }),
      H("Div", { className: "wall-alarm-cat", children: cfg.categories[head[3]] || head[3] }),
      H("Div", { className: "wall-alarm-where", children: (head[4] >= 0 ? cfg.streets[head[4]] + " · " : "") + head[0] }),
      head[5] ? H("Div", { className: "wall-alarm-text", children: head[5] }) : null,
      H("Div", { className: "wall-alarm-elapsed", children: cfg.text["alarm.elapsed"] + " " + elapsed(now - head[9]) }),
      H("Ol", { className: "wall-alarm-timeline", children: lines }),
      alarms.length > 1 ? H("Div", { className: "wall-alarm-queue", children: fmt(cfg.text["alarm.queue"], alarms.length - 1) }) : null,
    ] });
  }

  // ---- what follows a payload --------------------------------------------------------------
  function newest(cfg) {
    var m = W.newest && W.markers.get(W.newest);
    if (!m || m[0] === W.newestShown) return;
    W.newestShown = m[0];
    set("wall-newest", { className: "wall-callout wall-newest", children: [
      H("Div", { className: "wall-callout-head", children: cfg.text["map.newest"] + " · " + m[0] }),
      H("Div", { className: "wall-callout-cat", children: (cfg.categories[m[6]] || m[6]) +
        (m[7] >= 0 ? " · " + cfg.streets[m[7]] : "") }),
      m[8] ? H("Div", { className: "wall-callout-text", children: m[8] }) : null,
    ] });
  }

  function streetBreakdown(cfg) {
    // 4K only (the panel is hidden below 1800 px): open and overdue cases per street, from the
    // markers the browser holds.
    if (window.innerHeight < 1800) return;
    var t = Date.now() + W.offset, open = {}, late = {};
    W.markers.forEach(function (m) {
      open[m[7]] = (open[m[7]] || 0) + 1;
      if (m[5] && t >= m[5] * 1000) late[m[7]] = (late[m[7]] || 0) + 1;
    });
    var max = 1;
    for (var k in open) max = Math.max(max, open[k]);
    var rows = cfg.streets.map(function (name, s) {
      return H("Div", { className: "wall-street-row", children: [
        H("Span", { className: "name", children: name }),
        H("Span", { className: "bar", children: H("I", { style: { width: Math.round(100 * (open[s] || 0) / max) + "%" } }) }),
        H("Span", { className: "n", children: String(open[s] || 0) }),
        H("Span", { className: "n" + (late[s] ? " bad" : ""), children: String(late[s] || 0) }),
      ] });
    });
    set("wall-streets", { children: rows });
  }

  function overlaps(a, b) { return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom; }

  function declutter() {
    // Street labels sit above the clusters (their pane is higher); move a label that touches a
    // cluster to the nearest free place around it, or leave it out when there is none — a
    // label is never under (or over) a cluster.
    var clusters = Array.prototype.map.call(document.querySelectorAll(".wall .wall-cluster"),
      function (c) { return c.getBoundingClientRect(); });
    document.querySelectorAll(".wall .wall-street-label span").forEach(function (span) {
      span.style.transform = "";
      span.style.visibility = "";
      var base = span.getBoundingClientRect(), h = base.height + 2, w = base.width / 2 + 4;
      for (var ring = 0; ring <= 4; ring++) {
        var tries = ring ? [[0, -ring * h], [0, ring * h], [-ring * w, 0], [ring * w, 0],
                            [-ring * w, -ring * h], [ring * w, ring * h]] : [[0, 0]];
        for (var k = 0; k < tries.length; k++) {
          var dx = tries[k][0], dy = tries[k][1];
          var r = { left: base.left + dx, right: base.right + dx, top: base.top + dy, bottom: base.bottom + dy };
          if (!clusters.some(function (c) { return overlaps(r, c); })) {
            if (dx || dy) span.style.transform = "translate(calc(-50% + " + dx + "px), calc(-50% + " + dy + "px))";
            return;
          }
        }
      }
      span.style.visibility = "hidden";
    });
  }

  function scheduleDeclutter() {
    clearTimeout(W.declutterTimer);
    W.declutterTimer = setTimeout(declutter, 120);
  }

  W.live = {
    second: function (cfg) {
      var root = document.getElementById("wall-root");
      if (!root) {                                  // the page was left: stop streaming
        if (W.source) { W.source.close(); W.source = null; }
        return;
      }
      if (root !== W.root) {                        // a new page (first, or back again): fresh view state
        W.root = root;
        W.alarmShown = W.viewIndex = W.newestShown = W.rootClass = W.scopeWanted = undefined;
        if (W.alarmPin) { W.alarmPin.remove(); W.alarmPin = null; }
        if (W.map && !document.body.contains(W.map.getContainer())) { W.map = null; W.mapHooked = false; }
      }
      if (W.map && !W.mapHooked) { W.mapHooked = true; W.map.on("zoomend moveend", scheduleDeclutter); }
      watchStream(cfg);
      rotate(cfg);
      if (W.alarms && W.alarms.length) renderAlarm(cfg);
    },
    received: function (payload, cfg, markersChanged) {
      if (payload.a) { W.alarms = payload.a; renderAlarm(cfg); }
      newest(cfg);
      if (markersChanged) { streetBreakdown(cfg); scheduleDeclutter(); }
    },
    declutter: declutter,
  };
})();
