// A photo picker: choose a file, drop one, or take the camera's current frame; shows a preview.
import * as camera from "./camera.js";

const pickers = {};

/** The photo chosen in picker `name` (a File), or null.
 * @param {string} name @returns {File | null} */
export function photo(name) { return pickers[name] || null; }

function show(element, file) {
  const preview = element.querySelector("img.preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  element.querySelector(".file-name").textContent = file.name;
}

export function set(name, file) {
  pickers[name] = file;
  const element = document.querySelector(`.picker[data-picker="${name}"]`);
  if (!element) return;
  show(element, file);
  element.dispatchEvent(new CustomEvent("photo", { detail: file }));
}

export function setup(onError) {
  for (const element of document.querySelectorAll(".picker")) {
    const name = element.dataset.picker;
    element.querySelector("input[type=file]").addEventListener("change", (event) => {
      if (event.target.files.length) set(name, event.target.files[0]);
    });
    element.querySelector("button.snap").addEventListener("click", async () => {
      try { set(name, await camera.capture(`${name}-camera.jpg`)); } catch (error) { onError(error); }
    });
    element.addEventListener("dragover", (event) => { event.preventDefault(); element.classList.add("over"); });
    element.addEventListener("dragleave", () => element.classList.remove("over"));
    element.addEventListener("drop", (event) => {
      event.preventDefault();
      element.classList.remove("over");
      if (event.dataTransfer.files.length) set(name, event.dataTransfer.files[0]);
    });
  }
}
