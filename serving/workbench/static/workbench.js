// flrisk workbench: small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Scoring a day takes a few seconds: say so, and stop a second submit.
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var status = form.querySelector(".busy");
      if (status) { status.textContent = form.getAttribute("data-busy"); }
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
    });
  });
});
