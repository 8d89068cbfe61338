// Progressive enhancement only: every page works without this file.
import { initAll } from "./vendor/govuk-frontend-6.6.0/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// Confirmation prompts for destructive actions, declared in markup with data-confirm
// (no inline script is allowed by the Content-Security-Policy).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Address suggestions: clicking one adds the address to its To or Cc field.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-add-address]") : null;
  if (!button) return;
  const field = document.getElementById(button.dataset.field === "cc" ? "cc" : "to");
  if (!field) return;
  const typed = field.value.split(/[,;]/).map((s) => s.trim());
  typed.pop();
  typed.push(button.dataset.addAddress);
  field.value = typed.filter((s) => s.length > 0).join(", ") + ", ";
  field.focus();
  const list = button.closest(".app-suggestions");
  if (list) list.replaceChildren();
});

// Upload progress: with JavaScript the compose form is sent with XMLHttpRequest so the
// bar can show how much has been uploaded; without it the form posts normally.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const button = event.submitter;
  if (!(form instanceof HTMLFormElement) || !button || !button.dataset.uploadProgress) return;
  const files = form.querySelector('input[type="file"]');
  if (!files || files.files.length === 0 || event.defaultPrevented) return;
  const bar = document.getElementById(button.dataset.uploadProgress);
  event.preventDefault();
  const data = new FormData(form);
  data.set(button.name, button.value);
  const request = new XMLHttpRequest();
  // getAttribute: the buttons named "action" shadow the form's action property.
  request.open("POST", form.getAttribute("action"));
  request.upload.addEventListener("progress", (progress) => {
    if (bar && progress.lengthComputable) {
      bar.hidden = false;
      bar.value = Math.round((progress.loaded / progress.total) * 100);
      bar.textContent = `${bar.value}%`;
    }
  });
  request.addEventListener("load", () => {
    if (request.responseURL && request.status < 400 && request.responseURL !== window.location.href) {
      window.location.assign(request.responseURL);
    } else {
      document.open();
      document.write(request.responseText);
      document.close();
    }
  });
  button.disabled = true;
  request.send(data);
});
