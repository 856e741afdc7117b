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
  // A quote's countdown: the seconds left; at zero the confirm button is disabled and the
  // "expired" line shown (the server refuses an expired quote anyway).
  Array.prototype.forEach.call(document.querySelectorAll("[data-expires-in]"), function (box) {
    var left = parseInt(box.getAttribute("data-expires-in"), 10) || 0;
    var out = box.querySelector("[data-seconds]");
    var tick = function () {
      if (out) { out.textContent = String(Math.max(0, left)); }
      if (left <= 0) {
        box.setAttribute("data-expired", "");
        Array.prototype.forEach.call(box.querySelectorAll("[data-needs-quote]"), function (el) { el.disabled = true; });
        return;
      }
      left -= 1;
      window.setTimeout(tick, 1000);
    };
    tick();
  });
  // The cash-points finder: the browser's location (asked only on a tap), sent as two numbers.
  Array.prototype.forEach.call(document.querySelectorAll("[data-locate]"), function (button) {
    if (!navigator.geolocation) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("loc-lat").value = pos.coords.latitude.toFixed(5);
        document.getElementById("loc-lon").value = pos.coords.longitude.toFixed(5);
        document.getElementById("location-form").submit();
      }, function () {
        button.disabled = false;
        var where = document.getElementById("finder-where");
        if (where) { where.textContent = button.getAttribute("data-denied"); where.setAttribute("role", "alert"); }
      }, { timeout: 10000, maximumAge: 60000 });
    });
  });
  // The balance card's eye: hides the amounts on this device (a cookie, so the next page is
  // rendered hidden by the server and nothing flashes).
  Array.prototype.forEach.call(document.querySelectorAll("[data-balance-toggle]"), function (button) {
    var card = button.closest("[data-balance]");
    var hideLabel = button.getAttribute("aria-label");
    var showLabel = button.getAttribute("data-show-label") || hideLabel;
    var sync = function () {
      var hidden = card.hasAttribute("data-hidden");
      button.setAttribute("aria-pressed", hidden ? "true" : "false");
      button.setAttribute("aria-label", hidden ? showLabel : hideLabel);
    };
    button.hidden = false;
    sync();
    button.addEventListener("click", function () {
      var hide = !card.hasAttribute("data-hidden");
      card.toggleAttribute("data-hidden", hide);
      document.cookie = "qb_hide_amounts=" + (hide ? "1" : "0") + "; path=/; max-age=31536000; SameSite=Lax";
      sync();
    });
  });
  // A bottom sheet's close button closes its <details>.
  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-sheet-close]");
    if (!close) { return; }
    event.preventDefault();
    var sheet = close.closest("details");
    if (sheet) { sheet.open = false; }
  });
  // Copy buttons (a reference, an account number).
  document.addEventListener("click", function (event) {
    var copy = event.target.closest && event.target.closest("[data-copy]");
    if (!copy || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () {
      var done = copy.getAttribute("data-copied");
      if (done) { copy.setAttribute("aria-label", done); copy.classList.add("copied"); }
    });
  });
  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js").catch(function () { /* offline support is optional */ });
    });
  }
})();
