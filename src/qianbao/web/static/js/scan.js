// The pay pages' glue (no inline scripts: the CSP forbids them).
// - Scan (/scan): the camera (getUserMedia) or an uploaded picture, decoded here with jsQR; a
//   code that leads to this site's /pay/ pages is opened, anything else is refused with a message.
// - Payment code (/pay/code): show or hide the digits; a new code when the page comes back into
//   view or on demand (HTMX refreshes it every minute by itself).
(function () {
  "use strict";

  // -- Scan ----------------------------------------------------------------------------------
  // The path of a pay page on this very site, or null. Absolute URLs must have this page's
  // origin; a relative path must start with a single "/". Parsing first, then checking the
  // origin and the path, also refuses "//other.host/pay/…" and "/pay/../elsewhere".
  function payPath(text) {
    var t = (text || "").trim();
    var url;
    try {
      if (/^https?:\/\//i.test(t)) {
        url = new URL(t);
      } else if (t.charAt(0) === "/" && t.charAt(1) !== "/" && t.charAt(1) !== "\\") {
        url = new URL(t, window.location.origin);
      } else {
        return null;
      }
    } catch (e) {
      return null;
    }
    if (url.origin !== window.location.origin || url.username || url.password) { return null; }
    if (url.pathname.indexOf("/pay/") !== 0) { return null; }
    return url.pathname + url.search;
  }

  function setupScan(root) {
    var video = document.getElementById("scan-video");
    var view = document.getElementById("scan-view");
    var canvas = document.getElementById("scan-canvas");
    var hint = document.getElementById("scan-hint");
    var message = document.getElementById("scan-message");
    var file = document.getElementById("scan-file");
    var retry = document.getElementById("scan-camera");
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    var stream = null;
    var done = false;

    function show(el, text) { el.textContent = text; el.hidden = false; }
    function hide(el) { el.textContent = ""; el.hidden = true; }

    function stopCamera() {
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      stream = null;
    }

    function found(text) {
      var path = payPath(text);
      if (path === null) {
        show(message, root.getAttribute("data-not-ours"));
        return false;
      }
      done = true;
      hide(message);
      show(hint, root.getAttribute("data-opening"));
      stopCamera();
      window.location.assign(path);
      return true;
    }

    function decode(source, width, height, inversion) {
      if (typeof window.jsQR !== "function" || !width || !height) { return null; }
      canvas.width = width;
      canvas.height = height;
      ctx.drawImage(source, 0, 0, width, height);
      var image = ctx.getImageData(0, 0, width, height);
      var result = window.jsQR(image.data, width, height, { inversionAttempts: inversion });
      return result && result.data ? result.data : null;
    }

    // The camera: a frame every 200 ms, at most 640 px wide (enough for a QR code, easy on phones).
    var lastMiss = "";
    function tick() {
      if (done || !stream) { return; }
      if (video.readyState >= 2 && video.videoWidth) {
        var scale = Math.min(1, 640 / video.videoWidth);
        var text = decode(video, Math.round(video.videoWidth * scale), Math.round(video.videoHeight * scale), "dontInvert");
        if (text && text !== lastMiss && !found(text)) { lastMiss = text; }
      }
      window.setTimeout(tick, 200);
    }

    function noCamera() {
      stopCamera();
      view.hidden = true;
      show(hint, root.getAttribute("data-no-camera"));
      retry.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
    }

    function startCamera() {
      hide(hint);
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.isSecureContext) {
        noCamera();
        return;
      }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          view.hidden = false;
          retry.hidden = true;
          var playing = video.play();
          if (playing && playing.catch) { playing.catch(function () { /* autoplay refused: frames still come */ }); }
          tick();
        })
        .catch(noCamera);
    }

    retry.addEventListener("click", startCamera);
    window.addEventListener("pagehide", stopCamera);

    // A picture: decoded here, never uploaded. Large photos are scaled down first (jsQR is faster
    // and no less sure at about 1000 px); if that finds nothing, the picture is tried as it is.
    file.addEventListener("change", function () {
      hide(message);
      var picked = file.files && file.files[0];
      if (!picked) { return; }
      var url = URL.createObjectURL(picked);
      var img = new Image();
      img.onload = function () {
        var w = img.naturalWidth;
        var h = img.naturalHeight;
        var scale = Math.min(1, 1000 / Math.max(w, h));
        var text = decode(img, Math.round(w * scale), Math.round(h * scale), "attemptBoth");
        if (!text && scale < 1) { text = decode(img, w, h, "attemptBoth"); }
        URL.revokeObjectURL(url);
        file.value = "";
        if (text) { found(text); } else { show(message, root.getAttribute("data-no-code")); }
      };
      img.onerror = function () {
        URL.revokeObjectURL(url);
        file.value = "";
        show(message, root.getAttribute("data-no-code"));
      };
      img.src = url;
    });

    startCamera();
  }

  // -- the payment code ----------------------------------------------------------------------
  function setupCode(root) {
    var toggle = root.querySelector("[data-toggle-digits]");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var shown = root.classList.toggle("show-digits");
        toggle.setAttribute("aria-pressed", shown ? "true" : "false");
        toggle.textContent = toggle.getAttribute(shown ? "data-hide" : "data-show");
      });
    }
    var box = document.getElementById("code-box");
    function refresh() {
      if (box && window.htmx) { window.htmx.trigger(box, "qb-refresh"); }
    }
    var again = root.querySelector("[data-refresh-code]");
    if (again) { again.addEventListener("click", refresh); }
    // Timers sleep with the phone's screen: back in view, the code may have expired.
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { refresh(); }
    });
  }

  var scan = document.querySelector("[data-scan]");
  if (scan) { setupScan(scan); }
  var code = document.querySelector("[data-code-page]");
  if (code) { setupCode(code); }
})();
