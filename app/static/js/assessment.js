/* Self-assessment step form: autosave (every 20 s and shortly after a change) and the "none of these" box.
   Optional: without this script the form's buttons save every step. The server answers an autosave
   (header X-Requested-With: fetch) with JSON {saved, errors, shown, saved_at, progress}. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  /* form.action would be the buttons named "action", not the URL. */
  var url = form.getAttribute("action");
  var statusBox = form.querySelector("[data-autosave-status]");
  var shownInput = form.querySelector("input[name='shown']");
  var progressBar = document.getElementById("answered-progress");
  var progressText = document.querySelector("[data-progress-text]");
  var INTERVAL_MS = 20000;
  var DEBOUNCE_MS = 1500;
  var dirty = false;
  var saving = false;
  var stopped = false;
  var debounceTimer = null;

  function say(text) {
    if (statusBox) {
      statusBox.textContent = text;
    }
  }

  function showErrors(errors) {
    var boxes = form.querySelectorAll("[data-error-for]");
    var count = 0;
    Array.prototype.forEach.call(boxes, function (box) {
      var message = errors[box.getAttribute("data-error-for")];
      var fieldset = box.closest("fieldset");
      var hint = box.id.replace(/-error$/, "-hint");
      if (message) {
        count += 1;
        box.textContent = message;
        box.hidden = false;
        if (fieldset) {
          fieldset.classList.add("field-error");
          fieldset.setAttribute("aria-describedby", hint + " " + box.id);
        }
      } else {
        box.textContent = "";
        box.hidden = true;
        if (fieldset) {
          fieldset.classList.remove("field-error");
          fieldset.setAttribute("aria-describedby", hint);
        }
      }
    });
    return count;
  }

  function showProgress(progress) {
    if (!progress) {
      return;
    }
    if (progressBar) {
      progressBar.max = progress.total;
      progressBar.value = progress.answered;
      progressBar.textContent = progress.percent + "%";
    }
    var template = form.getAttribute("data-progress-template");
    if (progressText && template) {
      progressText.textContent = template.replace("{answered}", progress.answered)
        .replace("{total}", progress.total).replace("{percent}", progress.percent);
    }
  }

  function save() {
    if (stopped || saving || !dirty) {
      return;
    }
    dirty = false;
    saving = true;
    var data = new FormData(form);
    data.set("action", "save");
    fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        return { status: response.status, body: body };
      });
    }).then(function (result) {
      var body = result.body || {};
      if (result.status === 409) {
        stopped = true;
        say(body.message || "");
        return;
      }
      if (result.status !== 200 || !body.saved) {
        throw new Error("not saved");
      }
      if (shownInput && typeof body.shown === "string") {
        shownInput.value = body.shown;
      }
      showProgress(body.progress);
      if (showErrors(body.errors || {}) > 0) {
        say(form.getAttribute("data-error-text") || "");
      } else {
        say((form.getAttribute("data-saved-text") || "").replace("{time}", body.saved_at || ""));
      }
    }).catch(function () {
      dirty = true;
      say(form.getAttribute("data-offline-text") || "");
    }).then(function () {
      saving = false;
    });
  }

  /* Ticking "none of these" clears the other boxes of the question, and ticking a box clears it. */
  function keepExclusive(input) {
    if (input.type !== "checkbox" || !input.checked) {
      return;
    }
    var boxes = form.querySelectorAll("input[type='checkbox'][name='" + input.name + "']");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box === input) {
        return;
      }
      if (input.hasAttribute("data-exclusive") || box.hasAttribute("data-exclusive")) {
        box.checked = false;
      }
    });
  }

  form.addEventListener("change", function (event) {
    keepExclusive(event.target);
    dirty = true;
    window.clearTimeout(debounceTimer);
    debounceTimer = window.setTimeout(save, DEBOUNCE_MS);
  });

  form.addEventListener("submit", function () {
    stopped = true;
    window.clearTimeout(debounceTimer);
  });

  /* A page restored from the back/forward cache saves again. */
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      stopped = false;
    }
  });

  window.setInterval(save, INTERVAL_MS);
})();
