// The runs pages, live: a socket on /ws/runs/ says which run changed; the list re-reads
// its rows from the server (what this user may see, as the server renders them) at most
// once a second, keeping the selection; a run's own page reloads when that run changes.
(function () {
  var table = document.querySelector("table[data-live]");
  var runPage = document.querySelector("[data-run-page]");
  var state = document.getElementById("live-state");
  if (!table && !runPage) return;

  function say(text) { if (state) state.textContent = text; }

  function selected() {
    return Array.prototype.map.call(document.querySelectorAll("input[name=run]:checked"),
                                    function (box) { return box.value; });
  }

  function countSelected() {
    var label = document.getElementById("selected-count");
    if (!label) return;
    var n = selected().length;
    label.textContent = n ? n + " selected" : "None selected";
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "run") countSelected();
  });

  var pending = null;
  var changed = {};
  function refreshRows() {
    pending = null;
    var keep = selected();
    fetch(table.dataset.partial, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var holder = document.createElement("table");
        holder.innerHTML = html;
        var rows = holder.querySelector("tbody");
        if (!rows) return;
        rows.querySelectorAll("input[name=run]").forEach(function (box) {
          box.checked = keep.indexOf(box.value) >= 0;
        });
        rows.querySelectorAll("tr[data-run]").forEach(function (row) {
          if (changed[row.dataset.run]) row.classList.add("changed");
        });
        changed = {};
        table.replaceChild(rows, table.querySelector("tbody"));
        countSelected();
      });
  }

  // One run's page: its content is read again (the messages above it stay).
  function refreshRun() {
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("run-live");
        if (!fresh) return;
        runPage.innerHTML = fresh.innerHTML;
        runPage.dataset.status = fresh.dataset.status;
      });
  }

  function onEvent(event) {
    if (runPage) {
      if (event.run_id === runPage.dataset.runPage) refreshRun();
      return;
    }
    if (table.dataset.live === "notice") {
      say("Runs changed since this page was read: go to the newest page to see them.");
      return;
    }
    changed[event.run_id] = true;
    if (!pending) pending = window.setTimeout(refreshRows, 1000);
  }

  var delay = 1000;
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/runs/");
    socket.onopen = function () {
      delay = 1000;
      say("Live");
      if (table && table.dataset.live === "rows") refreshRows();  // what changed meanwhile
      if (runPage) refreshRun();
    };
    socket.onmessage = function (message) { onEvent(JSON.parse(message.data)); };
    socket.onclose = function (close) {
      if (close.code === 4403) { say("Live updates are not allowed for this account."); return; }
      say("Reconnecting…");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
