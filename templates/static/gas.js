// GAS: live status updates and upload checks. No inline script anywhere:
// the page's Content-Security-Policy only allows this file.
(function () {
  "use strict";

  // Detail page: poll the job's status and reload when it changes state.
  var live = document.querySelector("[data-live-job]");
  if (live) {
    var state = live.getAttribute("data-state");
    var terminal = /^(COMPLETED\/AVAILABLE|COMPLETED\/ARCHIVED|FAILED\/|CANCELLED\/)$/;
    if (!terminal.test(state)) {
      var id = live.getAttribute("data-live-job");
      var tick = function () {
        fetch("/annotations/" + encodeURIComponent(id) + "/status", {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (s) {
            if (s && (s.status + "/" + s.storage) !== state) { window.location.reload(); return; }
            setTimeout(tick, 1500);
          })
          .catch(function () { setTimeout(tick, 5000); });
      };
      setTimeout(tick, 1500);
    } else if (state === "COMPLETED/AVAILABLE" && live.closest("h1")) {
      // A free result will be archived: check now and then so the page
      // shows it without a manual reload.
      var idA = live.getAttribute("data-live-job");
      var slow = function () {
        fetch("/annotations/" + encodeURIComponent(idA) + "/status", {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (s) {
            if (s && (s.status + "/" + s.storage) !== state) { window.location.reload(); return; }
            if (s && s.archive_at) { setTimeout(slow, 3000); }
          })
          .catch(function () {});
      };
      setTimeout(slow, 3000);
    }
  }

  // List page: update the badges of unfinished jobs in place.
  var rows = document.querySelectorAll("tr[data-job]");
  if (rows.length) {
    var ids = Array.prototype.map.call(rows, function (r) { return r.getAttribute("data-job"); });
    var poll = function () {
      fetch("/annotations/status?ids=" + ids.map(encodeURIComponent).join(","), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (list) {
          if (!list) { return; }
          var pending = [];
          list.forEach(function (s) {
            var row = document.querySelector("tr[data-job=\"" + s.id + "\"]");
            if (!row) { return; }
            var badge = row.querySelector("[data-status]");
            badge.textContent = s.label;
            badge.className = "badge badge-" + s.badge;
            if (!s.terminal) { pending.push(s.id); }
          });
          ids = pending;
          if (ids.length) { setTimeout(poll, 2000); }
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 2000);
  }

  // A presigned upload posts to object storage, which takes only the fields
  // its policy signs: the job's options ride a cookie to /annotate/uploaded.
  var upload = document.getElementById("upload-form");
  if (upload) {
    upload.addEventListener("submit", function () {
      var opts = [];
      Array.prototype.forEach.call(upload.querySelectorAll("[data-option]"), function (el) {
        if (el.type === "checkbox" && !el.checked) { return; }
        opts.push(encodeURIComponent(el.getAttribute("data-option")) + "=" + encodeURIComponent(el.value));
      });
      if (opts.length) {
        document.cookie = "gas_upload_options=" + encodeURIComponent(opts.join("&")) + "; path=/annotate; SameSite=Strict";
      }
    });
  }

  // Forms that cannot be undone ask first.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });

  // humanBytes is domain.HumanBytes: binary units labelled KiB/MiB/GiB,
  // the exact count below 1 KiB, and a size that is not a whole number of
  // units never printed as one (150 KiB + 50 bytes is "150.05 KiB").
  var humanBytes = function (n) {
    if (n < 1024) { return n + " bytes"; }
    var labels = ["KiB", "MiB", "GiB", "TiB"], div = 1024, i = 0;
    while (n / div >= 1024 && i < labels.length - 1) { div *= 1024; i++; }
    if (n % div === 0) { return (n / div) + " " + labels[i]; }
    for (var prec = 1; prec <= 3; prec++) {
      var s = (n / div).toFixed(prec);
      if (!/\.0+$/.test(s)) { return s + " " + labels[i]; }
    }
    return n.toLocaleString("en-US") + " bytes";
  };

  // Upload form: say at once when a file is over the plan's limit, and
  // remember the file name for the presigned (straight-to-storage) path.
  var file = document.getElementById("file");
  if (file) {
    file.addEventListener("change", function () {
      var hint = document.getElementById("file-hint");
      var f = file.files && file.files[0];
      if (!f) { hint.textContent = ""; return; }
      document.cookie = "gas_upload_name=" + encodeURIComponent(f.name) + "; path=/annotate; SameSite=Strict";
      var max = parseInt(file.getAttribute("data-max-size"), 10);
      if (max && f.size > max) {
        hint.textContent = f.name + " is " + humanBytes(f.size) + ", more than your plan's " + humanBytes(max) + "; the upload will be refused. Premium accepts larger files.";
        hint.className = "hint bad";
      } else {
        hint.textContent = f.name + " (" + humanBytes(f.size) + ") is ready to upload.";
        hint.className = "hint";
      }
    });
  }
})();
