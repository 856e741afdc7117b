// Passkeys (WebAuthn) on the sign-in page and in the security centre. No inline scripts: the
// CSP forbids them. The server sends WebAuthn options as JSON with base64url strings; the browser
// API wants ArrayBuffers, and the answer goes back as JSON with base64url strings again.
(function () {
  "use strict";

  function b64urlToBuffer(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function bufferToB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function postJSON(url, body) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": csrfToken()
      },
      body: JSON.stringify(body || {})
    });
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      var error = new Error((data && data.title) || "");
      error.fromServer = Boolean(data && data.title);
      throw error;
    }
    return data;
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var copy = Object.assign({}, item);
      copy.id = b64urlToBuffer(item.id);
      return copy;
    });
  }

  function creationOptions(publicKey) {
    var options = Object.assign({}, publicKey);
    options.challenge = b64urlToBuffer(publicKey.challenge);
    options.user = Object.assign({}, publicKey.user, { id: b64urlToBuffer(publicKey.user.id) });
    options.excludeCredentials = descriptors(publicKey.excludeCredentials);
    return options;
  }

  function requestOptions(publicKey) {
    var options = Object.assign({}, publicKey);
    options.challenge = b64urlToBuffer(publicKey.challenge);
    options.allowCredentials = descriptors(publicKey.allowCredentials);
    return options;
  }

  function credentialToJSON(credential) {
    var r = credential.response;
    var response = { clientDataJSON: bufferToB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bufferToB64url(r.attestationObject);
      if (typeof r.getTransports === "function") { response.transports = r.getTransports(); }
    }
    if (r.authenticatorData) { response.authenticatorData = bufferToB64url(r.authenticatorData); }
    if (r.signature) { response.signature = bufferToB64url(r.signature); }
    if (r.userHandle) { response.userHandle = bufferToB64url(r.userHandle); }
    var json = {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults
        ? credential.getClientExtensionResults() : {}
    };
    if (credential.authenticatorAttachment) {
      json.authenticatorAttachment = credential.authenticatorAttachment;
    }
    return json;
  }

  function showError(box, error) {
    var target = box.querySelector("[data-passkey-error]");
    if (!target) { return; }
    // The server's message is already in the page's language; otherwise use the page's own.
    target.textContent = (error && error.fromServer && error.message) || box.dataset.msgFailed;
    target.hidden = false;
  }

  function clearError(box) {
    var target = box.querySelector("[data-passkey-error]");
    if (target) { target.hidden = true; target.textContent = ""; }
  }

  var supported = Boolean(window.PublicKeyCredential && navigator.credentials);

  function setUp(boxSelector, buttonSelector, action) {
    var box = document.querySelector(boxSelector);
    if (!box) { return; }
    if (!supported) {
      var note = document.querySelector("[data-passkey-unsupported]");
      if (note) { note.hidden = false; }
      return;
    }
    box.hidden = false;
    var button = box.querySelector(buttonSelector);
    button.addEventListener("click", async function () {
      clearError(box);
      button.disabled = true;
      try {
        await action(box, button);
      } catch (error) {
        showError(box, error);
        button.disabled = false;
      }
    });
  }

  // Sign in: a discoverable passkey, no phone number needed.
  setUp("[data-passkey-login-box]", "[data-passkey-login]", async function (box, button) {
    var options = await postJSON("/api/v1/auth/passkeys/options");
    var credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
    var result = await postJSON("/login/passkey", {
      challenge_id: options.challenge_id,
      credential: credentialToJSON(credential),
      next: button.dataset.next || "/home"
    });
    window.location.assign(result.redirect || "/home");
  });

  // Security centre: register a new passkey for the signed-in user.
  setUp("[data-passkey-register-box]", "[data-passkey-register]", async function (box) {
    var options = await postJSON("/api/v1/me/passkeys/options");
    var credential = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
    var nameInput = box.querySelector("input[name=passkey_name]");
    await postJSON("/api/v1/me/passkeys", {
      challenge_id: options.challenge_id,
      credential: credentialToJSON(credential),
      name: (nameInput && nameInput.value.trim()) || box.dataset.defaultName || "Passkey"
    });
    window.location.assign("/security/passkeys?notice=passkey_added");
  });

  // A payment the risk rules want confirmed (step-up): the passkey signs a challenge that
  // carries the amount and the payee; its answer goes into the form, sent with the PIN.
  setUp("[data-step-up-box]", "[data-step-up-passkey]", async function (box, button) {
    var form = box.closest("form");
    var pin = form.querySelector("input[name=pin]");
    if (pin && !pin.value) {
      pin.focus();
      var error = new Error(box.dataset.msgPin);
      error.fromServer = true;  // already in the page's language
      throw error;
    }
    var options = await postJSON(box.dataset.optionsUrl, JSON.parse(box.dataset.body));
    var credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
    box.querySelector("input[name=step_up_passkey]").value = JSON.stringify({
      challenge_id: options.challenge_id,
      credential: credentialToJSON(credential)
    });
    var code = form.querySelector("input[name=step_up_code]");
    if (code) { code.value = ""; }
    button.disabled = true;
    form.submit();
  });
})();
