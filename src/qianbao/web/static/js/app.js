// Qianbao page glue. No inline scripts (the CSP forbids them): everything lives here.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  // HTMX requests carry the CSRF value as a header; plain forms carry it as a hidden field.
  document.addEventListener("htmx:configRequest", function (event) {
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js").catch(function () { /* offline support is optional */ });
    });
  }
})();
