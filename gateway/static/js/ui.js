// Small UI helpers shared by the flows: status lines, result lists, the raw JSON view. Texts are
// functions of the language (i18n.js) so that a language switch redoes what is on screen.
import { describeError, errorDetail } from "./api.js";
import { bind, show } from "./i18n.js";

/** The page's element with this id (index.html has every id the flows use).
 * @param {string} id
 * @returns {HTMLElement} */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Set status line `name`: text is a string or a function giving it in the current language. */
export function status(name, text, kind = "") {
  const element = $(`${name}-status`);
  show(element, text);
  element.removeAttribute("title");
  element.className = `status ${kind}`;
}

export function fail(name, error) {
  const element = $(`${name}-status`);
  bind(element, (node) => {
    node.textContent = describeError(error);
    node.title = errorDetail(error);
  });
  if (error.code) element.dataset.code = error.code;
  element.className = "status error";
}

export function busy(name, text) {
  delete $(`${name}-status`).dataset.code;
  status(name, text, "busy");
}

export function raw(name, body) {
  const element = $(`${name}-json`);
  if (!element) return;
  const shown = body && body.faces
    ? { ...body, faces: body.faces.map((f) => ({ ...f, mesh: f.mesh ? `[${f.mesh.length} points]` : undefined })) }
    : body;
  element.textContent = JSON.stringify(shown, null, 2);
}

/** Fill result list `name`: items is an array of strings or a function giving one. */
export function list(name, items) {
  bind($(`${name}-list`), (element) => {
    element.replaceChildren(...(typeof items === "function" ? items() : items).map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
  });
}

/** @param {string} id */
export function value(id) { return $(id).value.trim(); }
