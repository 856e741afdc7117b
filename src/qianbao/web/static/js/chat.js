/* Live chat (customers on /chat, agents on /console/chat/{id}): a WebSocket to /ws/chat or
   /ws/console/chat, with the JSON API (/api/v1/chat) as the fallback when the socket is down.
   Every text goes into the page with textContent: nothing a user types is ever parsed as HTML. */
(function () {
  "use strict";

  var csrfMeta = document.querySelector("meta[name=csrf-token]");
  var CSRF = csrfMeta ? csrfMeta.content : "";

  function wsUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  /* The agents' list: reload when a conversation is assigned to me. */
  var inbox = document.getElementById("chat-inbox");
  if (inbox) {
    var inboxSocket = null;
    var openInbox = function () {
      try { inboxSocket = new WebSocket(wsUrl(inbox.dataset.ws)); } catch (e) { return; }
      inboxSocket.onmessage = function (ev) {
        var frame = JSON.parse(ev.data);
        if (frame.type === "assigned") { location.reload(); }
      };
      inboxSocket.onclose = function () { setTimeout(openInbox, 5000); };
    };
    openInbox();
  }

  var root = document.getElementById("chat");
  if (!root) { return; }
  var side = root.dataset.side;
  var api = root.dataset.api;
  var conversation = root.dataset.conversation || null;
  var transcriptLink = document.getElementById("chat-transcript");
  var status = root.dataset.status || "new";
  var lastId = Number(root.dataset.last || 0);
  var readUpto = Number(root.dataset.readUpto || 0);
  var list = document.getElementById("chat-messages");
  var form = document.getElementById("chat-form");
  var text = document.getElementById("chat-text");
  var typingNote = document.getElementById("chat-typing");
  var errorBox = document.getElementById("chat-error");
  var statusLine = document.getElementById("chat-status");
  var handoffForm = document.getElementById("chat-handoff");
  var closeForm = document.getElementById("chat-close");
  var fileInput = document.getElementById("chat-file");
  var attach = root.querySelector(".chat-attach");
  var socket = null;
  var socketOpen = false;
  var pollTimer = null;
  var retry = 1000;
  var typingSentAt = 0;
  var typingTimer = null;
  var lastReadSent = 0;

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (content !== undefined && content !== null) { node.textContent = content; }
    return node;
  }

  function showError(message) {
    if (!errorBox) { return; }
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  function build(m) {
    var li = el("li", "chat-msg chat-" + m.sender + (m.mine ? " mine" : ""));
    li.dataset.id = String(m.id);
    if (m.sender === "agent" && m.agent) {
      li.appendChild(el("span", "chat-author", m.agent.name + " · " + root.dataset.tAgentId + " " + m.agent.agent_id));
    } else if (m.sender === "bot") {
      li.appendChild(el("span", "chat-author", root.dataset.tBot));
    }
    var bubble = el("div", "chat-bubble");
    if (m.text) { bubble.appendChild(el("p", "chat-text", m.text)); }
    if (m.image) {
      var link = el("a");
      link.href = m.image; link.target = "_blank"; link.rel = "noopener";
      var img = el("img", "chat-image");
      img.src = m.image; img.alt = root.dataset.tImage || "";
      link.appendChild(img);
      bubble.appendChild(link);
    }
    if (m.articles && m.articles.length) {
      var ul = el("ul", "chat-articles");
      m.articles.forEach(function (a) {
        if (a.url.indexOf("/help/") !== 0) { return; }
        var item = el("li");
        var anchor = el("a", null, a.title);
        anchor.href = a.url; anchor.target = "_blank"; anchor.rel = "noopener";
        item.appendChild(anchor);
        ul.appendChild(item);
      });
      bubble.appendChild(ul);
    }
    if (m.bot) { buildBot(bubble, m.bot); }
    li.appendChild(bubble);
    var meta = el("span", "chat-meta");
    var time = el("time", null, m.time);
    time.setAttribute("datetime", m.at);
    meta.appendChild(time);
    if (m.mine && (m.sender === "customer" || m.sender === "agent")) {
      meta.appendChild(document.createTextNode(" "));
      var read = el("span", "chat-read", root.dataset.tRead);
      read.hidden = !m.read;
      meta.appendChild(read);
    }
    li.appendChild(meta);
    return li;
  }

  /* The bot's answer in parts (the same as templates/chat/_messages.html): only paths on this
     site become links; every text goes in with textContent. */
  function ownUrl(url) {
    url = String(url || "");
    return url.charAt(0) === "/" && url.charAt(1) !== "/" && url.indexOf("\\") < 0 ? url : null;
  }

  function linkTo(url, label, cls, newTab) {
    var a = el("a", cls || null, label);
    a.href = ownUrl(url) || "#";
    if (newTab) { a.target = "_blank"; a.rel = "noopener"; }
    return a;
  }

  function linkRow(links, extra) {
    var p = el("p", "chat-links");
    (links || []).forEach(function (l) {
      if (ownUrl(l.url)) { p.appendChild(linkTo(l.url, l.label, "button small")); }
    });
    if (extra) { p.appendChild(extra); }
    return p;
  }

  function buildBot(bubble, b) {
    (b.wallet || []).forEach(function (w) {
      var card = el("div", "chat-card chat-wallet");
      card.appendChild(el("p", "chat-card-title", w.title));
      if (w.facts && w.facts.length) {
        var dl = el("dl", "chat-facts");
        w.facts.forEach(function (f) {
          var row = el("div");
          row.appendChild(el("dt", null, f.label));
          row.appendChild(el("dd", null, f.value));
          dl.appendChild(row);
        });
        card.appendChild(dl);
      }
      (w.notes || []).forEach(function (n) { card.appendChild(el("p", "chat-note", n)); });
      if (w.links && w.links.length) { card.appendChild(linkRow(w.links)); }
      bubble.appendChild(card);
    });
    var a = b.article;
    if (a && ownUrl(a.url)) {
      var box = el("div", "chat-card chat-answer");
      box.appendChild(linkTo(a.url, a.title, "chat-card-title", true));
      if (a.lead) { box.appendChild(el("p", "chat-note", a.lead)); }
      if (a.steps && a.steps.length) {
        var ol = el("ol", "chat-steps");
        a.steps.forEach(function (st) { ol.appendChild(el("li", null, st)); });
        box.appendChild(ol);
      }
      box.appendChild(linkRow(a.links, linkTo(a.url, a.more, "chat-more", true)));
      bubble.appendChild(box);
    }
    if (b.choices && b.choices.length) {
      var choices = el("div", "chat-choices");
      b.choices.forEach(function (c) {
        var label = c.n + ". " + c.title;
        if (b.interactive) {
          var button = el("button", "button small chat-choice", label);
          button.type = "button";
          button.addEventListener("click", function () { sendText(label); });
          choices.appendChild(button);
        } else {
          choices.appendChild(linkTo(c.url, label, "chat-choice", true));
        }
      });
      bubble.appendChild(choices);
    }
    if (b.hint) {
      var hint = el("p", "chat-note chat-hint", b.hint.text + " ");
      hint.appendChild(linkTo(b.hint.url, b.hint.label));
      bubble.appendChild(hint);
    }
    if (b.related && b.related.length) {
      bubble.appendChild(el("p", "chat-related", b.related_label));
      var ul = el("ul", "chat-articles");
      b.related.forEach(function (r) {
        if (r.url.indexOf("/help/") !== 0) { return; }
        var item = el("li");
        item.appendChild(linkTo(r.url, r.title, null, true));
        ul.appendChild(item);
      });
      bubble.appendChild(ul);
    }
  }

  function scrollDown() {
    list.lastElementChild && list.lastElementChild.scrollIntoView({ block: "end" });
  }

  function applyRead(upto) {
    readUpto = Math.max(readUpto, upto || 0);
    list.querySelectorAll(".chat-msg.mine").forEach(function (li) {
      var mark = li.querySelector(".chat-read");
      if (mark && Number(li.dataset.id) <= readUpto) { mark.hidden = false; }
    });
  }

  function addMessages(messages) {
    var added = false;
    (messages || []).forEach(function (m) {
      if (list.querySelector('.chat-msg[data-id="' + m.id + '"]')) { return; }
      list.appendChild(build(m));
      lastId = Math.max(lastId, m.id);
      added = true;
      if (!m.mine && m.sender !== "system" && typingNote) { typingNote.hidden = true; }
    });
    if (added) { scrollDown(); markRead(); }
  }

  function setConversation(c) {
    if (!c) { return; }
    if (conversation && c.id !== conversation) {
      /* a new conversation after a closed one: start a fresh list */
      list.querySelectorAll(".chat-msg:not(.chat-welcome)").forEach(function (li) { li.remove(); });
      lastId = 0; readUpto = 0;
    }
    conversation = c.id;
    status = c.status;
    root.dataset.status = status;
    if (statusLine) {
      statusLine.dataset.status = status;
      if (side === "customer") {
        if (status === "bot") { statusLine.textContent = root.dataset.tBotStatus; }
        else if (status === "queued") { statusLine.textContent = root.dataset.tWaiting; }
        else if (status === "assigned" && c.agent) {
          statusLine.textContent = root.dataset.tWith.replace("{name}", c.agent.name).replace("{agent_id}", c.agent.agent_id);
        } else if (status === "closed") { statusLine.textContent = root.dataset.tClosed; }
      } else if (status === "closed") {
        statusLine.textContent = root.dataset.tClosed;
      }
    }
    if (handoffForm) { handoffForm.hidden = status !== "bot"; }
    if (side === "customer") {
      /* the desk's hours and the after-hours offers speak to someone who has no agent yet */
      var over = status === "assigned" || status === "closed";
      ["chat-hours", "chat-after-hours"].forEach(function (id) {
        var node = document.getElementById(id);
        if (node) { node.hidden = over; }
      });
    }
    if (side === "agent" && status === "closed") {
      if (form) { form.hidden = true; }
      if (closeForm) { closeForm.hidden = true; }
    }
    if (fileInput) { fileInput.disabled = false; }
    if (transcriptLink) {
      transcriptLink.href = "/chat/transcript.txt?c=" + encodeURIComponent(c.id);
      transcriptLink.parentElement.hidden = false;
    }
    if (side === "customer" && status === "closed") { showRating(c.id); }
    applyRead(c.read_upto);
  }

  /* The agent closed the conversation: "Was this conversation helpful?" (signed-in customers;
     the server answers with an empty placeholder when there is nothing to rate). */
  var ratingLoaded = {};
  function showRating(id) {
    var slot = document.getElementById("chat-rating");
    if (!id || ratingLoaded[id] || !slot || !window.htmx) { return; }
    if (slot.dataset.conversation === id) { ratingLoaded[id] = true; return; }
    ratingLoaded[id] = true;
    window.htmx.ajax("GET", "/chat/rating?c=" + encodeURIComponent(id), { target: "#chat-rating", swap: "outerHTML" })
      .then(function () {
        var shown = document.getElementById("chat-rating");
        if (shown && !shown.hidden) { shown.scrollIntoView({ block: "nearest" }); }
      });
  }

  function http(method, path, body, isForm) {
    var headers = { "X-CSRF-Token": CSRF, "Accept": "application/json" };
    if (body && !isForm) { headers["Content-Type"] = "application/json"; }
    return fetch(api + path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body ? (isForm ? body : JSON.stringify(body)) : undefined
    }).then(function (r) {
      if (r.status === 204) { return null; }
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.title || data.detail || String(r.status)); }
        return data;
      });
    });
  }

  function applyState(data) {
    if (!data) { return; }
    if (data.conversation) { setConversation(data.conversation); }
    addMessages(data.messages);
  }

  function poll() {
    if (!conversation && side === "agent") { return; }
    var path = conversation ? "/conversations/" + conversation + "/messages?since=" + lastId : "/conversation";
    http("GET", path).then(applyState).catch(function () {});
  }

  function startPolling() {
    if (!pollTimer) { pollTimer = setInterval(poll, 3000); }
  }

  function stopPolling() {
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  function send(frame, fallback) {
    if (socketOpen) {
      socket.send(JSON.stringify(frame));
      return Promise.resolve();
    }
    return fallback ? fallback() : Promise.resolve();
  }

  function markRead() {
    if (!conversation || document.visibilityState === "hidden") { return; }
    var newest = 0;
    list.querySelectorAll(".chat-msg:not(.mine)").forEach(function (li) {
      newest = Math.max(newest, Number(li.dataset.id || 0));
    });
    if (newest <= lastReadSent) { return; }
    lastReadSent = newest;
    send({ type: "read", upto: newest }, function () {
      return http("POST", "/conversations/" + conversation + "/read", { upto: newest }).catch(function () {});
    });
  }

  function connect() {
    try { socket = new WebSocket(wsUrl(root.dataset.ws)); } catch (e) { startPolling(); return; }
    socket.onopen = function () {
      socketOpen = true; retry = 1000; stopPolling();
      socket.send(JSON.stringify({ type: "sync", since: lastId }));
    };
    socket.onmessage = function (ev) {
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame.type === "messages") { addMessages(frame.messages); }
      else if (frame.type === "conversation") { setConversation(frame.conversation); }
      else if (frame.type === "typing" && typingNote) {
        typingNote.hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typingNote.hidden = true; }, 4000);
      }
      else if (frame.type === "read") { applyRead(frame.upto); }
      else if (frame.type === "error") { showError(frame.title); }
    };
    socket.onclose = function () {
      socketOpen = false;
      startPolling();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  function sendText(value) {
    showError("");
    return send({ type: "message", text: value }, function () {
      var path = side === "agent" ? "/conversations/" + conversation + "/messages" : "/messages";
      return http("POST", path, { text: value }).then(applyState).catch(function (err) {
        if (text) { text.value = value; }
        showError(err.message);
      });
    });
  }

  /* A choice of the bot's clarifying question, rendered by the page (a form without script). */
  list.addEventListener("submit", function (ev) {
    var choice = ev.target.closest ? ev.target.closest(".chat-choice-form") : null;
    if (!choice) { return; }
    ev.preventDefault();
    sendText(choice.querySelector("input[name=text]").value);
  });

  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var value = text.value.trim();
      if (!value) { return; }
      text.value = "";
      sendText(value);
    });
    text.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    text.addEventListener("input", function () {
      var now = Date.now();
      if (!conversation || now - typingSentAt < 2000) { return; }
      typingSentAt = now;
      send({ type: "typing" }, function () {
        return http("POST", "/conversations/" + conversation + "/typing").catch(function () {});
      });
    });
  }

  if (handoffForm) {
    handoffForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!conversation) { return; }
      /* always by HTTP: its answer carries the new state and the system message, so the page
         shows them without waiting for the socket's push (which may come later under load) */
      http("POST", "/conversations/" + conversation + "/handoff?since=" + lastId).then(applyState)
        .catch(function (err) { showError(err.message); });
    });
  }

  if (closeForm && side === "agent") {
    closeForm.addEventListener("submit", function (ev) {
      if (!socketOpen) { return; } /* the plain form posts */
      ev.preventDefault();
      send({ type: "close" });
    });
  }

  if (fileInput && attach && side === "customer") {
    attach.hidden = false;
    fileInput.disabled = false;
    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      fileInput.value = "";
      if (!file) { return; }
      var max = Number(root.dataset.maxImage || 0);
      if ((file.type !== "image/png" && file.type !== "image/jpeg") || file.size > max) {
        showError(root.dataset.tBadImage);
        return;
      }
      showError("");
      var body = new FormData();
      body.append("file", file);
      var query = conversation ? "?conversation_id=" + conversation : "";
      http("POST", "/images" + query, body, true).then(applyState).catch(function (err) {
        showError(err.message);
      });
    });
  }

  document.addEventListener("visibilitychange", markRead);
  applyRead(readUpto);
  scrollDown();
  markRead();
  connect();
})();
