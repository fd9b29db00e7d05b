// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Refuse an oversize upload before sending it (the server checks again).
  for (const input of document.querySelectorAll("input[type=file][data-max-bytes]")) {
    input.addEventListener("change", () => {
      const max = Number(input.dataset.maxBytes);
      const file = input.files && input.files[0];
      input.setCustomValidity(file && file.size > max ? input.title || "too large" : "");
    });
  }
  // An import's progress (staff console): poll its small JSON answer, move the bar, and show
  // the report once the job is done. Without script the page has a refresh link.
  const progress = document.querySelector("[data-progress-url]");
  if (progress) {
    const url = progress.dataset.progressUrl;
    const bar = document.getElementById("import-bar");
    const show = (id, value) => {
      const element = document.getElementById(id);
      if (element && value !== undefined) element.textContent = String(value);
    };
    const poll = async () => {
      let answer;
      try {
        const response = await fetch(url, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) return;
        answer = await response.json();
      } catch (_error) {
        window.setTimeout(poll, 3000);
        return;
      }
      if (bar) {
        bar.max = Math.max(answer.rows_total || 0, 1);
        bar.value = answer.rows_total ? answer.rows_done : 0;
      }
      show("import-done", answer.rows_done);
      show("import-total", answer.rows_total);
      show("import-valid", answer.valid);
      show("import-invalid", answer.invalid);
      show("import-imported", answer.imported);
      show("import-state", answer.label);
      if (answer.done) {
        window.location.reload();
      } else {
        window.setTimeout(poll, 1000);
      }
    };
    window.setTimeout(poll, 500);
  }
  // Confirm destructive actions (buttons marked data-confirm).
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
});
