// The guided action-liveness session: start a session, prompt each action on screen while the
// camera records frames, then send the frames for the verdict. Also the passive one-photo check.
import { api } from "./api.js";
import * as camera from "./camera.js";
import { photo } from "./picker.js";
import { $, busy, fail, list, raw, status } from "./ui.js";

// turn_left / turn_right are the user's own left and right.
export const PROMPTS = {
  blink: "Blink your eyes",
  turn_left: "Turn your head to your left",
  turn_right: "Turn your head to your right",
  nod: "Nod your head",
  shake_head: "Shake your head",
  open_mouth: "Open your mouth",
  smile: "Smile",
  look_up: "Look up",
  look_down: "Look down",
};

// Frames per action and the gap between them: about 2.4 s per action at 5 frames a second.
export const timing = { framesPerAction: 12, intervalMs: 200, settleMs: 600 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function promptFor(action) {
  return PROMPTS[action] || action.replaceAll("_", " ");
}

function prompt(text, step) {
  $("liveness-prompt").textContent = text;
  $("liveness-step").textContent = step;
}

export async function runSession() {
  const button = $("liveness-start");
  button.disabled = true;
  try {
    busy("liveness", "Starting the camera…");
    await camera.start();
    const session = await api.createSession();
    $("liveness-prompt").dataset.sessionId = session.session_id;
    list("liveness", []);
    const frames = [];
    const times = [];
    const started = performance.now();
    for (const [index, action] of session.actions.entries()) {
      prompt(promptFor(action), `Action ${index + 1} of ${session.actions.length}`);
      status("liveness", "Follow the prompt…", "busy");
      await sleep(timing.settleMs);
      for (let i = 0; i < timing.framesPerAction; i += 1) {
        times.push(Math.round(performance.now() - started));
        frames.push(await camera.capture(`frame${String(frames.length).padStart(3, "0")}.jpg`));
        await sleep(timing.intervalMs);
      }
    }
    prompt("Checking…", `${frames.length} frames recorded`);
    busy("liveness", "Checking the recording…");
    const verdict = await api.verifySession(session.session_id, frames, times);
    raw("liveness", verdict);
    list("liveness", verdict.actions.map((item) =>
      `${item.passed ? "✔" : "✘"} ${promptFor(item.action)}${item.passed && item.frame >= 0 ? ` (frame ${item.frame})` : ""}`)
      .concat(verdict.reasons || []));
    prompt(verdict.live ? "Live person ✔" : "Not confirmed as live ✘", `liveness score ${Number(verdict.score).toFixed(2)}`);
    status("liveness", verdict.live ? "Liveness confirmed." : "Liveness not confirmed: see the actions below.", verdict.live ? "ok" : "warn");
  } catch (error) {
    prompt("", "");
    fail("liveness", error);
  } finally {
    button.disabled = false;
  }
}

export async function passiveCheck() {
  try {
    const file = photo("liveness-photo");
    if (!file) throw new Error("Choose a photo or take one with the camera first.");
    busy("passive", "Checking the photo…");
    const result = await api.livenessCheck(file);
    raw("passive", result);
    status("passive", `${result.live ? "Live" : "Spoof"}: score ${Number(result.score).toFixed(3)} (threshold ${Number(result.threshold).toFixed(3)}).`,
      result.live ? "ok" : "warn");
  } catch (error) {
    fail("passive", error);
  }
}
