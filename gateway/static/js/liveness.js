// @ts-check
// The guided action-liveness session: start a session, prompt each action on screen while the
// camera records frames, then send the frames for the verdict. Also the passive one-photo check.
import { api } from "./api.js";
import * as camera from "./camera.js";
import { has, LocalizedError, show, t } from "./i18n.js";
import { photo } from "./picker.js";
import { $, busy, fail, list, raw, status } from "./ui.js";

// The actions a session may ask for; each has its prompt in i18n.js ("prompt.<action>").
// turn_left / turn_right are the user's own left and right.
export const ACTIONS = ["blink", "turn_left", "turn_right", "nod", "shake_head", "open_mouth", "smile",
  "look_up", "look_down"];

// Frames per action and the gap between them: about 2.4 s per action at 5 frames a second.
export const timing = { framesPerAction: 12, intervalMs: 200, settleMs: 600 };

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The on-screen prompt for an action, in the page's language.
 * @param {string} action */
export function promptFor(action) {
  return has(`prompt.${action}`) ? t(`prompt.${action}`) : action.replaceAll("_", " ");
}

/** One of the verdict's reasons ("CODE" or "CODE: detail") for people; unknown ones as sent.
 * @param {string} reason */
export function reasonText(reason) {
  const [, code, detail = ""] = /^([A-Z_]+)(?::\s*(.*))?$/.exec(reason) || [];
  let params = null;
  if (code === "NO_FACE_IN_FRAMES") {
    const counts = /^(\d+) of (\d+)/.exec(detail);
    if (counts) params = { count: counts[1], total: counts[2] };
  } else if (code === "MULTIPLE_FACES" || code === "FACE_CHANGED") {
    params = { frames: detail.replace(/^frames\s*/, "") };
  } else if (code === "ACTION_NOT_SEEN") {
    params = { action: promptFor(detail) };
  } else if (code === "SPOOF_SUSPECTED") {
    params = {};
  }
  return params ? t("reason.format", { text: t(`reason.${code}`, params), code }) : reason;
}

/** Prompt and step lines: functions of the language, redone on a switch.
 * @param {string | (() => string)} text @param {string | (() => string)} step */
function prompt(text, step) {
  show($("liveness-prompt"), text);
  show($("liveness-step"), step);
}

export async function runSession() {
  const button = /** @type {HTMLButtonElement} */ ($("liveness-start"));
  button.disabled = true;
  try {
    busy("liveness", () => t("liveness.starting"));
    await camera.start();
    const session = await api.createSession();
    $("liveness-prompt").dataset.sessionId = session.session_id;
    list("liveness", []);
    const frames = [];
    const times = [];
    const started = performance.now();
    for (const [index, action] of session.actions.entries()) {
      prompt(() => promptFor(action), () => t("liveness.step", { n: index + 1, total: session.actions.length }));
      status("liveness", () => t("liveness.follow"), "busy");
      await sleep(timing.settleMs);
      for (let i = 0; i < timing.framesPerAction; i += 1) {
        times.push(Math.round(performance.now() - started));
        frames.push(await camera.capture(`frame${String(frames.length).padStart(3, "0")}.jpg`));
        await sleep(timing.intervalMs);
      }
    }
    prompt(() => t("liveness.checking"), () => t("liveness.recorded", { count: frames.length }));
    busy("liveness", () => t("liveness.checkingRecording"));
    const verdict = await api.verifySession(session.session_id, frames, times);
    raw("liveness", verdict);
    list("liveness", () => verdict.actions.map((item) =>
      `${item.passed ? "✔" : "✘"} ${promptFor(item.action)}${item.passed && item.frame >= 0 ? t("liveness.frame", { frame: item.frame }) : ""}`)
      .concat((verdict.reasons || []).map(reasonText)));
    prompt(() => t(verdict.live ? "liveness.live" : "liveness.notLive"),
      () => t("liveness.score", { score: Number(verdict.score).toFixed(2) }));
    status("liveness", () => t(verdict.live ? "liveness.confirmed" : "liveness.notConfirmed"), verdict.live ? "ok" : "warn");
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
    if (!file) throw new LocalizedError("picker.needPhoto");
    busy("passive", () => t("liveness.passiveBusy"));
    const result = await api.livenessCheck(file);
    raw("passive", result);
    status("passive", () => t("liveness.passiveResult", { verdict: t(result.live ? "liveness.passiveLive" : "liveness.passiveSpoof"),
      score: Number(result.score).toFixed(3), threshold: Number(result.threshold).toFixed(3) }), result.live ? "ok" : "warn");
  } catch (error) {
    fail("passive", error);
  }
}
