// Passkeys: asks Casemail for a challenge, lets the browser's authenticator answer it, and
// posts the answer with the form (so errors come back as a normal page). Casemail speaks
// the WebAuthn JSON forms, with binary fields as unpadded base64url.

const toBase64Url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const fromBase64Url = (text) =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

function creationOptions({ publicKey }) {
  return {
    ...publicKey,
    challenge: fromBase64Url(publicKey.challenge),
    user: { ...publicKey.user, id: fromBase64Url(publicKey.user.id) },
    excludeCredentials: (publicKey.excludeCredentials || []).map((c) => ({ ...c, id: fromBase64Url(c.id) })),
  };
}

function requestOptions({ publicKey }) {
  return {
    ...publicKey,
    challenge: fromBase64Url(publicKey.challenge),
    allowCredentials: (publicKey.allowCredentials || []).map((c) => ({ ...c, id: fromBase64Url(c.id) })),
  };
}

function registrationAnswer(credential) {
  const response = credential.response;
  return {
    id: credential.id,
    rawId: toBase64Url(credential.rawId),
    type: credential.type,
    response: {
      attestationObject: toBase64Url(response.attestationObject),
      clientDataJSON: toBase64Url(response.clientDataJSON),
      transports: response.getTransports ? response.getTransports() : [],
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

function signInAnswer(credential) {
  const response = credential.response;
  return {
    id: credential.id,
    rawId: toBase64Url(credential.rawId),
    type: credential.type,
    response: {
      authenticatorData: toBase64Url(response.authenticatorData),
      clientDataJSON: toBase64Url(response.clientDataJSON),
      signature: toBase64Url(response.signature),
      userHandle: response.userHandle ? toBase64Url(response.userHandle) : null,
    },
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

function showProblem(message) {
  const summary = document.querySelector("[data-passkey-problem]");
  if (!summary) return;
  summary.querySelector("[data-passkey-message]").textContent = message;
  summary.hidden = false;
  summary.focus();
}

// What the browser's refusal means to the person.
function explain(error) {
  if (error && error.name === "NotAllowedError") {
    return "The passkey request was cancelled or timed out. Try again when you are ready.";
  }
  if (error && error.name === "InvalidStateError") {
    return "That authenticator already holds one of your passkeys. Use a different one.";
  }
  if (error && error.name === "SecurityError") {
    return "Passkeys work only at Casemail's own address. Open Casemail from its usual link and try again.";
  }
  return "Your passkey could not be used. Try again, or use another passkey.";
}

async function challenge(form) {
  const body = new URLSearchParams();
  body.set("csrf_token", form.elements.csrf_token.value);
  if (form.elements.name) body.set("name", form.elements.name.value);
  const response = await fetch(form.dataset.options, { method: "POST", body, credentials: "same-origin" });
  // A session that has ended answers with the sign-in page, not JSON.
  if (response.redirected || !(response.headers.get("content-type") || "").includes("json")) {
    throw new Error("Your session has ended. Reload the page and sign in again.");
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || answer.error) throw new Error(answer.error || "Casemail could not start the passkey request. Reload the page and try again.");
  return answer;
}

async function ceremony(form) {
  let options;
  try {
    options = await challenge(form);
  } catch (error) {
    showProblem(error.message);
    return;
  }
  let answer;
  try {
    if (form.dataset.passkey === "register") {
      answer = registrationAnswer(await navigator.credentials.create({ publicKey: creationOptions(options) }));
    } else {
      answer = signInAnswer(await navigator.credentials.get({ publicKey: requestOptions(options) }));
    }
  } catch (error) {
    showProblem(explain(error));
    return;
  }
  form.elements.credential.value = JSON.stringify(answer);
  form.submit();
}

const supported = typeof window.PublicKeyCredential === "function";
for (const form of document.querySelectorAll("form[data-passkey]")) {
  if (!supported) {
    const note = form.querySelector("[data-passkey-unsupported]");
    if (note) note.hidden = false;
    continue;
  }
  form.hidden = false;
  const button = form.querySelector("[data-passkey-button]");
  if (button) button.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // One ceremony at a time: a second challenge would replace the one being answered.
    const submit = form.querySelector('button[type="submit"]');
    if (submit.disabled) return;
    submit.disabled = true;
    try {
      await ceremony(form);
    } finally {
      submit.disabled = false;
    }
  });
}
