/*
 * When a session ends while a page is open (log-out elsewhere, idle or absolute time-out, a
 * wall's display token revoked), the server answers the page's next Dash callback request
 * with 401 and {"error": "session_ended", "reason", "location" | "reload", "next"}
 * (dashboard/web/sessions.py).  Dash alone would only stop updating; this sends the page to
 * the log-in (back to this page afterwards), to "display token revoked", or — for a wall
 * whose session merely timed out — reloads it, so its URL's token opens a new session.
 *
 * Loaded on every page (Dash serves every file in assets/); no inline script, so it passes
 * the Content-Security-Policy.
 */
(function () {
  "use strict";
  if (!window.fetch || window.citygridSessionWatch) { return; }
  window.citygridSessionWatch = true;
  var original = window.fetch;
  var leaving = false;

  function follow(body) {
    if (leaving || !body || body.error !== "session_ended") { return; }
    leaving = true;
    if (body.reload) { window.location.reload(); return; }
    var target = body.location || "/login";
    if (body.next) {
      var here = window.location.pathname + window.location.search;
      target += (target.indexOf("?") === -1 ? "?" : "&") + "next=" + encodeURIComponent(here);
    }
    window.location.assign(target);
  }

  window.fetch = function (input) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    var answer = original.apply(this, arguments);
    if (url.indexOf("_dash-update-component") === -1) { return answer; }
    return answer.then(function (response) {
      if (response.status === 401) {
        response.clone().json().then(follow).catch(function () {});
      }
      return response;
    });
  };
})();
