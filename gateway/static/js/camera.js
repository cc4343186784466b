// The camera (getUserMedia): one shared preview; any flow can take a JPEG frame from it.
import { LocalizedError } from "./i18n.js";

let stream = null;
let starting = null; // the start in progress: a second start waits for it instead of opening a second stream
const video = () => document.getElementById("camera");

export function isOn() { return stream !== null; }

export function start() {
  if (stream) return Promise.resolve();
  if (!starting) starting = open().finally(() => { starting = null; });
  return starting;
}

async function open() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new LocalizedError("camera.unsupported");
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    throw new LocalizedError("camera.unavailable", { detail: error.message || error.name });
  }
  const element = video();
  element.srcObject = stream;
  await element.play();
  if (!element.videoWidth) await new Promise((resolve) => element.addEventListener("loadeddata", resolve, { once: true }));
  document.getElementById("camera-panel").classList.add("on");
}

export function stop() {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
  stream = null;
  video().srcObject = null;
  document.getElementById("camera-panel").classList.remove("on");
}

/** The current frame as a JPEG Blob (named like a file). */
export async function capture(name = "camera.jpg") {
  if (!stream) await start();
  return snapshot(name);
}

/** The frame on screen now, drawn at once (the camera must be on); the promise resolves with its
 * JPEG (named like a file) once encoded, so a caller can take frames on a steady clock without
 * waiting for each encode. */
export function snapshot(name = "camera.jpg") {
  const element = video();
  if (!stream || !element.videoWidth) return Promise.reject(new LocalizedError("camera.stopped"));
  const canvas = document.createElement("canvas");
  canvas.width = element.videoWidth;
  canvas.height = element.videoHeight;
  canvas.getContext("2d").drawImage(element, 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob((blob) => {
    if (blob) resolve(new File([blob], name, { type: "image/jpeg" }));
    else reject(new LocalizedError("camera.stopped")); // stopped while encoding: no frame
  }, "image/jpeg", 0.9));
}
