// Progressive enhancement only: every page works without this file.
import { initAll } from "./vendor/govuk-frontend-6.6.0/govuk-frontend.min.js";
import "./passkeys.js";
import "./shortcuts.js";

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

// A suggestion answer that arrives after a choice was made would reopen the list:
// nothing has been typed since the choice, so close it again.
document.body.addEventListener("htmx:afterSwap", (event) => {
  const list = event.target;
  if (!(list instanceof Element) || !list.classList.contains("app-suggestions")) return;
  const field = document.getElementById(list.id === "cc-suggestions" ? "cc" : "to");
  if (field && /,\s*$/.test(field.value)) list.replaceChildren();
});

// Chosen files listed by name, each with a button that takes it out of the selection.
const chooser = document.getElementById("attachments");
const chosen = document.getElementById("chosen-files");
function listChosen() {
  if (!(chooser instanceof HTMLInputElement) || !chosen) return;
  chosen.replaceChildren(
    ...[...(chooser.files ?? [])].map((file, index) => {
      const item = document.createElement("li");
      item.textContent = `${file.name} (${megabytes(file.size)}) `;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "app-link-button";
      remove.textContent = "Remove";
      const hidden = document.createElement("span");
      hidden.className = "govuk-visually-hidden";
      hidden.textContent = ` ${file.name}`;
      remove.append(hidden);
      remove.addEventListener("click", () => {
        const keep = new DataTransfer();
        [...chooser.files].forEach((f, i) => i !== index && keep.items.add(f));
        chooser.files = keep.files;
        listChosen();
        chooser.focus();
      });
      item.append(remove);
      return item;
    }),
  );
}
chooser?.addEventListener("change", listChosen);

// Upload progress: with JavaScript the compose form is sent with XMLHttpRequest so the
// page can show how much has been sent and how long is left; without it the form posts
// normally. If the connection breaks, the form stays as it was, ready to send again.
const megabytes = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;

function timeLeft(seconds) {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return "less than a minute left";
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? "about 1 minute left" : `about ${minutes} minutes left`;
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  const button = event.submitter;
  if (!(form instanceof HTMLFormElement) || !button || !button.dataset.uploadProgress) return;
  const files = form.querySelector('input[type="file"]');
  if (!files || files.files.length === 0 || event.defaultPrevented) return;
  const bar = document.getElementById(button.dataset.uploadProgress);
  const status = document.getElementById("upload-status");
  event.preventDefault();
  const data = new FormData(form);
  data.set(button.name, button.value);
  const request = new XMLHttpRequest();
  const started = performance.now();
  // getAttribute: the buttons named "action" shadow the form's action property.
  request.open("POST", form.getAttribute("action"));
  request.upload.addEventListener("progress", (progress) => {
    if (!progress.lengthComputable) return;
    const seconds = (performance.now() - started) / 1000;
    const rate = progress.loaded / Math.max(seconds, 0.001);
    const left = (progress.total - progress.loaded) / rate;
    if (bar) {
      bar.hidden = false;
      bar.value = Math.round((progress.loaded / progress.total) * 100);
      bar.textContent = `${bar.value}%`;
    }
    if (status) {
      status.textContent = progress.loaded >= progress.total
        ? "Sent. Waiting for Casemail to confirm…"
        : `${megabytes(progress.loaded)} of ${megabytes(progress.total)} sent, ${timeLeft(left)}`;
    }
  });
  const broken = () => {
    button.disabled = false;
    if (bar) bar.hidden = true;
    if (status) {
      status.textContent =
        "The upload stopped before it was finished, so nothing was sent. Check your connection and press Send again: what you typed is still here.";
    }
  };
  request.addEventListener("error", broken);
  request.addEventListener("abort", broken);
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
