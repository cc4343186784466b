// Small UI helpers shared by the flows: status lines, result lists, the raw JSON view.
import { describeError } from "./api.js";

export const $ = (id) => document.getElementById(id);

export function status(name, text, kind = "") {
  const element = $(`${name}-status`);
  element.textContent = text;
  element.className = `status ${kind}`;
}

export function fail(name, error) {
  status(name, describeError(error), "error");
  const element = $(`${name}-status`);
  if (error.code) element.dataset.code = error.code;
}

export function busy(name, text) {
  const element = $(`${name}-status`);
  delete element.dataset.code;
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

export function list(name, items) {
  const element = $(`${name}-list`);
  element.replaceChildren(...items.map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
}

export function value(id) { return $(id).value.trim(); }
