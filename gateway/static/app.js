// FaceFlow web demo, entry point: language, API key, tabs, server readiness, camera and the flow
// buttons. Plain ES modules in js/, no build step. Every call goes through the public API (/api/v1).
import { api, describeError, setApiKey } from "./js/api.js";
import * as camera from "./js/camera.js";
import * as gallery from "./js/console.js";
import * as flows from "./js/flows.js";
import * as i18n from "./js/i18n.js";
import * as liveness from "./js/liveness.js";
import * as picker from "./js/picker.js";
import { $ } from "./js/ui.js";

const KEY_STORAGE = "faceflow-api-key";

// The key stays in this tab (sessionStorage) unless "remember on this computer" is ticked
// (localStorage); unticking forgets it there, so a shared computer keeps no key by default.
function setupKey() {
  const input = $("api-key");
  const remember = $("remember-key");
  remember.checked = localStorage.getItem(KEY_STORAGE) !== null;
  input.value = localStorage.getItem(KEY_STORAGE) || sessionStorage.getItem(KEY_STORAGE) || "";
  setApiKey(input.value);
  const keep = () => {
    const key = input.value.trim();
    sessionStorage.setItem(KEY_STORAGE, key);
    if (remember.checked) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  };
  input.addEventListener("input", () => {
    setApiKey(input.value);
    keep();
  });
  remember.addEventListener("change", keep);
}

// Every form of the page is driven by its buttons; Enter must not submit (reload) the page.
function setupForms() {
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", (event) => event.preventDefault());
  }
}

function setupTabs() {
  const tabs = [...document.querySelectorAll("nav button[data-tab]")];
  const show = (name) => {
    for (const tab of tabs) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
    for (const panel of document.querySelectorAll("section.panel")) panel.hidden = panel.id !== `panel-${name}`;
    history.replaceState(null, "", `#${name}`);
    if (name === "console") gallery.open();
  };
  for (const tab of tabs) tab.addEventListener("click", () => show(tab.dataset.tab));
  const initial = location.hash.slice(1);
  show(tabs.some((tab) => tab.dataset.tab === initial) ? initial : "detect");
}

async function showReadiness() {
  const badge = $("server-status");
  try {
    const body = await api.readyz();
    const names = Object.keys(body.services || {});
    const service = (name) => (i18n.has(`service.${name}`) ? i18n.t(`service.${name}`) : name);
    i18n.show(badge, () => i18n.t("header.ready", { services: names.map(service).join(i18n.t("sep")) }));
    badge.className = "badge ok";
  } catch (error) {
    i18n.bind(badge, (element) => {
      element.textContent = i18n.t("header.notReady");
      element.title = describeError(error);
    });
    badge.className = "badge error";
  }
}

function setupCamera() {
  const message = $("camera-status");
  $("camera-start").addEventListener("click", async () => {
    try {
      await camera.start();
      i18n.show(message, () => i18n.t("camera.on"));
    } catch (error) {
      i18n.show(message, () => describeError(error));
    }
  });
  $("camera-stop").addEventListener("click", () => {
    camera.stop();
    i18n.show(message, "");
  });
}

i18n.setup();
setupForms();
setupKey();
gallery.setup();
setupTabs();
setupCamera();
picker.setup((error) => i18n.show($("camera-status"), () => describeError(error)));
/** A button's flow, run once at a time: the button is disabled while it runs (a double click
 * would enroll the photo twice). */
function runOnce(id, flow) {
  const button = $(id);
  button.addEventListener("click", async () => {
    if (button.disabled) return;
    button.disabled = true;
    try { await flow(); } finally { button.disabled = false; }
  });
}

runOnce("detect-run", flows.detect);
document.querySelector('.picker[data-picker="detect"]').addEventListener("photo", flows.detect);
runOnce("enroll-run", flows.enroll);
runOnce("search-run", flows.search);
runOnce("verify-run", flows.verify);
$("liveness-start").addEventListener("click", liveness.runSession);
$("liveness-check").addEventListener("click", liveness.passiveCheck);
showReadiness();
document.body.dataset.ready = "true";
