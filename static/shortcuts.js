// Keyboard shortcuts in the manner of desktop mail clients. Each one does what a link or
// button on the page already does, so nothing here is the only way to do anything.

const typing = (target) =>
  target instanceof Element &&
  (target.closest("input, textarea, select, [contenteditable]") !== null || target.isContentEditable);

const rows = () => [...document.querySelectorAll("#message-list .app-mail-row")];
const current = () => document.querySelector("#message-list .app-mail-row--current");

function moveTo(row) {
  if (!row) return;
  current()?.classList.remove("app-mail-row--current");
  row.classList.add("app-mail-row--current");
  row.querySelector(".app-mail-row__open")?.focus();
}

function move(step) {
  const all = rows();
  if (all.length === 0) return;
  const at = all.indexOf(current());
  moveTo(all[Math.min(Math.max(at + step, 0), all.length - 1)] ?? all[0]);
}

// Acts on the ticked messages, or on the current one when none is ticked; in a
// conversation, on the conversation.
function file(action) {
  const button = document.querySelector(`.app-mail-actions button[value="${action}"]`);
  if (!button) return;
  if (!document.getElementById("message-list")) {
    button.click();
    return;
  }
  const ticked = document.querySelectorAll("#message-list .app-mail-row__check:checked");
  if (ticked.length === 0) {
    const box = current()?.querySelector(".app-mail-row__check");
    if (!box) return;
    box.checked = true;
  }
  button.click();
}

function follow(name) {
  const link = document.querySelector(`[data-shortcut="${name}"]`);
  if (link instanceof HTMLAnchorElement) window.location.assign(link.href);
}

const dialog = () => document.getElementById("shortcuts");

const keys = {
  j: () => move(1),
  k: () => move(-1),
  o: () => current()?.querySelector(".app-mail-row__open")?.click(),
  x: () => {
    const box = current()?.querySelector(".app-mail-row__check");
    if (box) box.checked = !box.checked;
  },
  e: () => file("archive"),
  "#": () => file("delete"),
  r: () => follow("reply"),
  a: () => follow("reply-all"),
  f: () => follow("forward"),
  c: () => window.location.assign("/compose"),
  "/": () => {
    const search = document.getElementById("nav-search") ?? document.getElementById("q");
    if (search) search.focus();
    else window.location.assign("/search");
  },
  "?": () => dialog()?.showModal(),
};

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  if (typing(event.target) || dialog()?.open) return;
  const key = event.key === "Enter" && current() && event.target === document.body ? "o" : event.key;
  const action = keys[key];
  if (!action) return;
  event.preventDefault();
  action();
});

// A row clicked or focused becomes the current one, so j and k carry on from there.
document.addEventListener("focusin", (event) => {
  const row = event.target instanceof Element ? event.target.closest("#message-list .app-mail-row") : null;
  if (row && row !== current()) {
    current()?.classList.remove("app-mail-row--current");
    row.classList.add("app-mail-row--current");
  }
});

document.querySelectorAll("[data-shortcuts-hint]").forEach((hint) => {
  hint.hidden = false;
});
document.querySelectorAll("[data-shortcuts-open]").forEach((button) => {
  button.addEventListener("click", () => dialog()?.showModal());
});

// New mail: the unread count is polled (without keeping the session alive); when it
// rises, the tab title follows and a first page refreshes its rows, unless the reader
// has ticked some.
let lastUnread = Number(document.getElementById("unread-count")?.dataset.unread || 0);

// Read after every settled swap: an outerHTML swap replaces the counter element itself.
document.body.addEventListener("htmx:afterSettle", () => {
  const counter = document.getElementById("unread-count");
  if (!counter || Number(counter.dataset.unread || 0) === lastUnread) return;
  const unread = Number(counter.dataset.unread || 0);
  document.title = document.title.replace(/^\(\d+\) /, "");
  if (unread > 0) document.title = `(${unread}) ${document.title}`;
  const before = lastUnread;
  lastUnread = unread;
  const list = document.querySelector(".app-mail-list[data-refresh]");
  if (!list || unread <= before) return;
  if (document.querySelector("#message-list .app-mail-row__check:checked")) return;
  window.htmx?.ajax("GET", list.dataset.refresh, { target: ".app-mail-list", swap: "outerHTML" });
});
