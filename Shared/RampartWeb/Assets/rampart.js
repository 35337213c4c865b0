// Rampart's one script: keyboard shortcuts for pages that offer them, and drafts of what is typed
// in a text area. Everything it does is also reachable without it (links, buttons, form fields);
// it never sends anything itself.
(function () {
  "use strict";
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  }
  function select(delta) {
    var list = rows();
    if (list.length === 0) { return; }
    var current = list.findIndex(function (row) { return row.classList.contains("selected"); });
    var next = Math.max(0, Math.min(list.length - 1, current < 0 ? 0 : current + delta));
    list.forEach(function (row) { row.classList.remove("selected"); });
    list[next].classList.add("selected");
    var link = list[next].querySelector("a");
    if (link) { link.focus(); }
  }
  function focus(id) {
    var element = document.getElementById(id);
    if (!element) { return false; }
    var details = element.closest("details");
    if (details) { details.open = true; }
    element.focus();
    return true;
  }
  function follow(name) {
    var link = document.querySelector('[data-shortcut="' + name + '"]');
    if (link) { link.click(); }
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var handled = true;
    switch (event.key) {
      case "j": select(1); break;
      case "k": select(-1); break;
      case "r": handled = focus("reply-body"); break;
      case "n": handled = focus("note-body"); break;
      case "/": handled = focus("search"); break;
      case "g": follow("list"); break;
      case "]": follow("next-page"); break;
      case "?": handled = focus("shortcuts-summary"); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  // Drafts: what is typed in a text area is kept in this tab's session storage until its form was
  // sent and answered with `done=` (the helpdesk's "sent" pages), so a session that ended meanwhile
  // (sign in again, come back to the page) loses nothing. Nothing leaves the browser.
  var sentKey = "rampart.drafts.sent";
  function draftKey(area) { return "rampart.draft:" + location.pathname + "#" + area.id; }
  function sentKeys() {
    try { return JSON.parse(sessionStorage.getItem(sentKey) || "[]"); } catch (error) { return []; }
  }
  try {
    if (/[?&]done=/.test(location.search)) {
      sentKeys().forEach(function (key) { sessionStorage.removeItem(key); });
      sessionStorage.removeItem(sentKey);
    }
    Array.prototype.forEach.call(document.querySelectorAll("form textarea[id]"), function (area) {
      var key = draftKey(area);
      var kept = sessionStorage.getItem(key);
      if (kept && area.value === "") {
        area.value = kept;
        var notice = document.createElement("p");
        notice.className = "hint";
        notice.setAttribute("role", "status");
        notice.textContent = "Restored what you typed here before; it has not been sent yet.";
        area.parentNode.insertBefore(notice, area);
      }
      area.addEventListener("input", function () {
        if (area.value) { sessionStorage.setItem(key, area.value); } else { sessionStorage.removeItem(key); }
      });
      area.form.addEventListener("submit", function () {
        var sent = sentKeys();
        if (sent.indexOf(key) < 0) { sent.push(key); }
        sessionStorage.setItem(sentKey, JSON.stringify(sent));
      });
    });
  } catch (error) {
    // No session storage (disabled, full): the forms work as they do without the script.
  }
}());
