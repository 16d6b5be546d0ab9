// otpgate dashboard: the little that needs a script. Every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // An operator's app selector shows the picked app at once.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  // Forms that change something lasting ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
