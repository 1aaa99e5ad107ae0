// Small behaviours the server-rendered pages rely on. No inline scripts: CSP forbids them.
(function () {
  "use strict";

  // Focus lands on the error summary after a page load or a swap that brings one, so
  // keyboard and screen-reader users hear what went wrong.
  function focusFirstError(root) {
    var summary = (root || document).querySelector("[data-focus-first-error]");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusFirstError(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    // After an outerHTML swap the target is the element that was replaced: look at its successor.
    if (target && !target.isConnected && target.id) { target = document.getElementById(target.id); }
    if (target && target.querySelector && target.querySelector("[data-focus-first-error]")) {
      focusFirstError(target);
    } else if (target && target.id === "files-region" && document.activeElement === document.body) {
      // The Remove button pressed went with its file: carry on from the file input.
      var input = target.querySelector("input[type=file]");
      if (input) { input.focus(); }
    }
  });

  // A successful upload answers "add at least one file": the step's message about files goes,
  // from under the field and from the summary (the summary too once it lists nothing else).
  function clearFilesError() {
    var slot = document.getElementById("files-error");
    if (slot && slot.classList.contains("error-slot")) {
      slot.textContent = "";
      var wrapper = slot.closest(".field");
      if (wrapper) { wrapper.classList.remove("has-error"); }
    }
    document.querySelectorAll(".error-summary a[href='#files']").forEach(function (link) {
      var summary = link.closest(".error-summary");
      link.closest("li").remove();
      if (summary && !summary.querySelector("li")) { summary.remove(); }
    });
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    var region = document.getElementById("files-region");
    if (region && region.querySelector("[data-files-added]") && event.detail && event.detail.target &&
        (event.detail.target === region || event.detail.target.id === "files-region")) {
      clearFilesError();
    }
  });

  // Inline checks swap only the error slots: keep the field's aria-invalid and its
  // wrapper's error class in step with its slot, without touching what is being typed.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var slot = event.detail && event.detail.target;
    if (!slot || !slot.classList || !slot.classList.contains("error-slot")) { return; }
    var id = slot.getAttribute("data-field");
    var field = document.getElementById(id);
    var invalid = slot.textContent.trim() !== "";
    if (field) {
      if (invalid) { field.setAttribute("aria-invalid", "true"); } else { field.removeAttribute("aria-invalid"); }
      var wrapper = field.closest(".field");
      if (wrapper) { wrapper.classList.toggle("has-error", invalid); }
    }
  });

  // A step is saved by its inline checks as well as by Next and Back. The checks go one at a
  // time (hx-sync "queue last"); Next and Back wait for the one under way, and no check leaves
  // once they are sent, so a late check never overwrites what the step's submission saved.
  // An upload under way (its button belongs to the form without being inside it: step 6, the
  // edit page, the dispute) counts too: once it is answered the chooser is empty, so the form's
  // submit doesn't send the files again.
  function uploadUnderWay(form) {
    return form.id !== "" && document.querySelector("[form='" + form.id + "'].htmx-request") !== null;
  }
  function checkUnderWay(form) { return form.querySelector(".htmx-request") !== null || uploadUnderWay(form); }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    // Other forms a chooser belongs to (the edit page, the dispute) wait for its upload alone.
    if (!form.classList || form.hasAttribute("data-submitted")) { return; }
    if (!form.classList.contains("wizard-form") && !uploadUnderWay(form)) { return; }
    if (form.hasAttribute("data-waiting")) { event.preventDefault(); return; }
    if (!checkUnderWay(form)) { form.setAttribute("data-submitted", ""); return; }
    event.preventDefault();
    form.setAttribute("data-waiting", "");
    var submitter = event.submitter && event.submitter.form === form ? event.submitter : null;
    // Never hold the user back for a check that hangs; an upload shows its own progress.
    var giveUp = setTimeout(function patience() {
      if (uploadUnderWay(form)) { giveUp = setTimeout(patience, 1000); } else { go(); }
    }, 5000);
    function later() { setTimeout(function () { if (!checkUnderWay(form)) { go(); } }, 0); }
    function go() {
      clearTimeout(giveUp);
      document.removeEventListener("htmx:afterRequest", later);
      form.removeAttribute("data-waiting");
      form.setAttribute("data-submitted", "");
      form.requestSubmit(submitter);
    }
    document.addEventListener("htmx:afterRequest", later);
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.closest && elt.closest(".wizard-form[data-submitted]")) { event.preventDefault(); }
  });
  // What was typed since the last check answered would be lost if the page is left another
  // way than Next or Back (the browser's back button, a link, closing the tab) before the
  // check's delay ran out, or while its request was under way (leaving aborts it): hand the
  // form to the browser to send as the page goes. A beacon outlives the page; the form
  // carries its CSRF token; the check saves without moving the draft on.
  function edits(form) { return parseInt(form.getAttribute("data-edits") || "0", 10); }
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest(".wizard-form");
    if (form) { form.setAttribute("data-edits", String(edits(form) + 1)); }
  });
  document.addEventListener("htmx:beforeSend", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest(".wizard-form");
    if (form) { event.detail.xhr.wizardEdits = edits(form); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest(".wizard-form");
    var sent = event.detail.xhr && event.detail.xhr.wizardEdits;
    if (form && event.detail.successful && typeof sent === "number") {
      form.setAttribute("data-saved", String(Math.max(sent, parseInt(form.getAttribute("data-saved") || "0", 10))));
    }
  });
  window.addEventListener("pagehide", function () {
    document.querySelectorAll(".wizard-form:not([data-submitted])").forEach(function (form) {
      var checked = form.querySelector("[hx-post]");
      if (edits(form) > parseInt(form.getAttribute("data-saved") || "0", 10) && checked && navigator.sendBeacon) {
        var data = new FormData(form);
        data.delete("files");  // the check saves answers; files go through the upload
        navigator.sendBeacon(checked.getAttribute("hx-post"), data);
        form.setAttribute("data-saved", String(edits(form)));
      }
    });
  });

  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }  // back to a page kept in memory: it may check again
    document.querySelectorAll(".wizard-form[data-submitted]").forEach(function (form) {
      form.removeAttribute("data-submitted");
    });
  });

  // Uploads: refuse early what the server would refuse, show progress, and never leave a
  // spinner hanging when the request fails or is too large for the server.
  function uploadForm(elt) { return elt && elt.closest ? elt.closest(".upload-form") : null; }
  function setStatus(form, text) {
    var status = form.querySelector(".upload-status");
    if (status) { status.textContent = text; }
  }
  // What the server would refuse of the files chosen, said where they were chosen; true if any.
  function refusedEarly(form) {
    var input = form.querySelector("input[type=file]");
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
    var maxFiles = parseInt(form.getAttribute("data-max-files"), 10);
    var files = input ? Array.prototype.slice.call(input.files) : [];
    var problems = [];
    if (files.length > maxFiles) { problems.push(form.getAttribute("data-too-many")); }
    files.forEach(function (file) {
      if (file.size > maxBytes) { problems.push(form.getAttribute("data-too-large").replace("{name}", file.name)); }
    });
    if (!problems.length) { return false; }
    setStatus(form, problems.join(" "));
    if (input) { input.focus(); }
    return true;
  }
  // Choosing files uploads them (the Upload button is for pages without JavaScript): step 6,
  // the edit page, the dispute. Files refused here are taken out of the chooser, said why, so
  // the form's submit never sends them.
  function hideUploadButtons(root) {
    if (!root || !root.querySelectorAll) { return; }
    root.querySelectorAll(".upload-form[data-upload-on-choose] #upload-button").forEach(function (button) {
      button.hidden = true;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { hideUploadButtons(document); });
  document.addEventListener("htmx:load", function (event) { hideUploadButtons(event.target.parentNode || event.target); });
  document.addEventListener("change", function (event) {
    var input = event.target;
    var form = uploadForm(input);
    if (!form || !form.hasAttribute("data-upload-on-choose") || input.type !== "file" || !input.files.length) { return; }
    if (refusedEarly(form)) {
      input.value = "";
      return;
    }
    setStatus(form, "");
    var button = form.querySelector("#upload-button");
    if (button) { htmx.trigger(button, "click"); }
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = uploadForm(event.target);
    if (!form || !event.detail.lengthComputable) { return; }
    var bar = form.querySelector(".upload-progress");
    bar.hidden = false;
    bar.value = Math.round(event.detail.loaded / event.detail.total * 100);
  });
  // While an upload is under way its chooser takes no other files (they would be lost when the
  // answer replaces it); it is free again if the upload fails.
  function chooser(event) {
    var form = uploadForm(event.target);
    return form && form.hasAttribute("data-upload-on-choose") ? form.querySelector("input[type=file]") : null;
  }
  document.addEventListener("htmx:beforeSend", function (event) {
    var input = chooser(event);
    if (input) { input.disabled = true; }  // its files are already in the request
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var input = chooser(event);
    if (input && !event.detail.successful) { input.disabled = false; }
  });
  function failed(event) {
    var form = uploadForm(event.target);
    if (!form) { return; }
    var bar = form.querySelector(".upload-progress");
    if (bar) { bar.hidden = true; }
    var xhr = event.detail && event.detail.xhr;
    var tooLarge = xhr && xhr.status === 413;
    setStatus(form, form.getAttribute(tooLarge ? "data-request-too-large" : "data-failed"));
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
})();

// A form marked data-reset-on-success empties itself once htmx has posted it successfully.
document.addEventListener("htmx:afterRequest", function (event) {
  var form = event.detail && event.detail.elt;
  if (form && form.matches && form.matches("form[data-reset-on-success]") && event.detail.successful) {
    form.reset();
  }
});
