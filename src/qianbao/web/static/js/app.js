// Qianbao page glue. No inline scripts (the CSP forbids them): everything lives here.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  // HTMX requests carry the CSRF value as a header; plain forms carry it as a hidden field.
  document.addEventListener("htmx:configRequest", function (event) {
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  // A code step's "send a new code" button counts down the resend cool-down.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-resend-in]"), function (button) {
    var left = parseInt(button.getAttribute("data-resend-in"), 10) || 0;
    if (left <= 0) { return; }
    var wait = button.getAttribute("data-wait-label") || "{s}";
    var tick = function () {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = button.getAttribute("data-label");
        return;
      }
      button.disabled = true;
      button.textContent = wait.replace("{s}", String(left));
      left -= 1;
      window.setTimeout(tick, 1000);
    };
    tick();
  });
  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js").catch(function () { /* offline support is optional */ });
    });
  }
})();
