// The camera (getUserMedia): one shared preview; any flow can take a JPEG frame from it.
import { LocalizedError } from "./i18n.js";

let stream = null; // set once the preview shows frames: a snapshot can be taken
let starting = null; // the start in progress: a second start waits for it instead of opening a second stream
let stopAsked = false; // stop() during a start: the start closes its stream and fails as stopped
let wakeStart = null; // ends the start's wait for the first frame (stop() calls it)
const video = () => document.getElementById("camera");

export function isOn() { return stream !== null; }

export function start() {
  if (starting) return starting;
  if (stream) return Promise.resolve();
  stopAsked = false;
  starting = open().finally(() => { starting = null; });
  return starting;
}

async function open() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new LocalizedError("camera.unsupported");
  }
  let opened;
  try {
    opened = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    throw new LocalizedError("camera.unavailable", { detail: error.message || error.name });
  }
  const element = video();
  element.srcObject = opened;
  try {
    if (!stopAsked) await element.play();
    if (!element.videoWidth && !stopAsked) {
      await new Promise((resolve) => {
        wakeStart = resolve;
        element.addEventListener("loadeddata", resolve, { once: true });
      });
    }
  } catch (error) {
    if (!stopAsked) {
      for (const track of opened.getTracks()) track.stop();
      element.srcObject = null;
      throw new LocalizedError("camera.unavailable", { detail: error.message || error.name });
    }
  } finally {
    wakeStart = null;
  }
  if (stopAsked) {
    for (const track of opened.getTracks()) track.stop();
    element.srcObject = null;
    throw new LocalizedError("camera.stopped");
  }
  stream = opened;
  document.getElementById("camera-panel").classList.add("on");
}

export function stop() {
  if (starting) {
    stopAsked = true;
    if (wakeStart) wakeStart(undefined);
  }
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
