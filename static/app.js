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
