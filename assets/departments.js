/* Cell renderers and formatters of the evaluation pages' tables (dash-ag-grid).
   Every value is put in the page as text (React children), never as HTML. */
(function () {
  "use strict";
  var R = window.React;
  var comps = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
  var funcs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

  funcs.citygridPct = function (v) { return v === null || v === undefined ? "—" : Number(v).toFixed(1) + "%"; };
  funcs.citygridFixed = function (v, d) { return v === null || v === undefined ? "—" : Number(v).toFixed(d); };

  /* The department's name, linking to its page (the row carries the href with the period). */
  comps.CitygridLink = function (props) {
    var href = props.data && props.data.href;
    if (!href) return props.value;
    return R.createElement("a", { href: href, className: "dept-link" }, String(props.value));
  };

  /* A case id that looks clickable (the row's click opens the case panel). */
  comps.CitygridCase = function (props) {
    return R.createElement("span", { className: "case-link", "data-case": props.value }, String(props.value));
  };

  /* Traffic light dot and its label. */
  comps.CitygridLight = function (props) {
    var light = (props.data && props.data.light_code) || "none";
    return R.createElement("span", { className: "light-cell" },
      R.createElement("span", { className: "light light-" + light }), String(props.value || ""));
  };

  /* Cases per day of the period as little bars (an SVG sparkline). */
  comps.CitygridSpark = function (props) {
    var v = props.value || [], w = 136, h = 22, n = v.length || 1;
    var max = Math.max.apply(null, v.concat([1]));
    var bw = w / n;
    var bars = v.map(function (x, i) {
      var bh = Math.max(x > 0 ? 1 : 0, Math.round((x / max) * h));
      return R.createElement("rect", { key: i, x: (i * bw).toFixed(2), y: h - bh, width: Math.max(bw - 0.6, 0.6),
                                       height: bh, className: "spark-bar" });
    });
    var title = R.createElement("title", { key: "t" }, v.join(" · "));
    return R.createElement("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, className: "spark" },
                           [title].concat(bars));
  };
})();
