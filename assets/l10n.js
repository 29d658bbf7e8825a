/* The page's language for what third-party widgets draw themselves (issue 11, item 7).
 *
 * The shell's header carries the page's language (data-lang) and the leaflet-draw texts in
 * it (data-draw, JSON from the i18n catalogue).  Two widgets would otherwise speak the
 * browser's language or English whatever the page says:
 *  - Dash's date pickers format months and weekdays with date-fns and take the locale from
 *    window.dateFns.locale by navigator.languages, else its first entry: we offer exactly the
 *    page's locale (zh-CN, vendored in datefns_zh_cn.js; none = date-fns' own en-US);
 *  - leaflet-draw (the dispatch map's box/polygon selection) reads L.drawLocal when it draws
 *    its toolbar and tooltips: we fill it in, and retitle a toolbar already drawn;
 *  - Leaflet's zoom buttons are titled "Zoom in" / "Zoom out": we retitle them.
 */
(function () {
    "use strict";
    var zhCN = window.dateFns && window.dateFns.locale ? window.dateFns.locale.zhCN : undefined;

    function header() { return document.querySelector("[data-lang]"); }

    function lang() {
        var h = header();
        if (h) { return h.getAttribute("data-lang") === "en" ? "en" : "zh"; }
        var m = /[?&]lang=(en|zh)\b/.exec(window.location.search);
        return m ? m[1] : "zh";
    }

    if (zhCN) {
        try {
            Object.defineProperty(window, "dateFns", {
                configurable: true,
                get: function () { return {locale: lang() === "en" ? {} : {zhCN: zhCN}}; },
                set: function () { /* the page's language decides */ }
            });
        } catch (e) { /* leave the picker as it is */ }
    }

    function drawTexts() {
        var h = header();
        if (!h || !h.getAttribute("data-draw")) { return null; }
        try { return JSON.parse(h.getAttribute("data-draw")); } catch (e) { return null; }
    }

    var applied = null;

    function localiseDraw() {
        var s = drawTexts();
        if (!s) { return; }
        var key = JSON.stringify(s);
        if (applied !== key && window.L && window.L.drawLocal) {
            var d = window.L.drawLocal.draw, e = window.L.drawLocal.edit;
            d.toolbar.actions = {title: s["draw.cancel"], text: s["draw.cancel"]};
            d.toolbar.finish = {title: s["draw.finish"], text: s["draw.finish"]};
            d.toolbar.undo = {title: s["draw.undo"], text: s["draw.undo"]};
            d.toolbar.buttons.polygon = s["draw.polygon"];
            d.toolbar.buttons.rectangle = s["draw.rectangle"];
            d.handlers.polygon.tooltip = {start: s["draw.polygon_start"], cont: s["draw.polygon_cont"],
                                          end: s["draw.polygon_end"]};
            d.handlers.polyline.error = s["draw.error"];
            d.handlers.polyline.tooltip = {start: s["draw.polygon_start"], cont: s["draw.polygon_cont"],
                                           end: s["draw.polygon_end"]};
            d.handlers.rectangle.tooltip = {start: s["draw.rect_start"]};
            d.handlers.simpleshape.tooltip = {end: s["draw.release"]};
            e.toolbar.actions.save = {title: s["draw.save"], text: s["draw.save"]};
            e.toolbar.actions.cancel = {title: s["draw.cancel"], text: s["draw.cancel"]};
            e.toolbar.actions.clearAll = {title: s["draw.clear_all"], text: s["draw.clear_all"]};
            e.toolbar.buttons.remove = s["draw.delete"];
            e.toolbar.buttons.removeDisabled = s["draw.no_delete"];
            e.handlers.remove.tooltip = {text: s["draw.delete_hint"]};
            applied = key;
        }
        var titles = {".leaflet-draw-draw-polygon": s["draw.polygon"], ".leaflet-draw-draw-rectangle": s["draw.rectangle"],
                      ".leaflet-draw-edit-remove": s["draw.delete"], ".leaflet-control-zoom-in": s["map.zoom_in"],
                      ".leaflet-control-zoom-out": s["map.zoom_out"], ".leaflet-control-layers-toggle": s["map.layers"]};
        Object.keys(titles).forEach(function (selector) {
            document.querySelectorAll(selector).forEach(function (a) {
                var title = a.classList.contains("leaflet-disabled") && selector === ".leaflet-draw-edit-remove"
                    ? s["draw.no_delete"] : titles[selector];
                if (a.title !== title) { a.title = title; }
                if (a.hasAttribute("aria-label") && a.getAttribute("aria-label") !== title) {
                    a.setAttribute("aria-label", title);
                }
                var span = a.querySelector(".sr-only");
                if (span && span.textContent !== title) { span.textContent = title; }
            });
        });
    }

    var pending = false;
    new MutationObserver(function () {
        if (pending) { return; }
        pending = true;
        window.requestAnimationFrame(function () { pending = false; localiseDraw(); });
    }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                          attributeFilter: ["data-draw"]});
}());
