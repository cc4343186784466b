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

// Frames per action and the gap between them: about 2.4 s per action at 5 frames a second, but a
// blink (eyes shut for only 100-200 ms) at about 16 a second, so that some frame catches the eyes
// closed. At most maxFrames in all: the service's default limit per verification (docs/api.md).
export const timing = {
  framesPerAction: 12, intervalMs: 200, settleMs: 600, maxFrames: 100,
  /** @type {Record<string, {frames: number, intervalMs: number} | undefined>} */
  fast: { blink: { frames: 40, intervalMs: 60 } },
};

/** The frames and the gap between them for each of a session's actions; fewer frames each (same
 * gaps) where all of them would be more than timing.maxFrames.
 * @param {string[]} actions
 * @returns {{action: string, frames: number, intervalMs: number}[]} */
export function framePlan(actions) {
  const steps = actions.map((action) => {
    const fast = timing.fast[action];
    return { action, frames: fast ? fast.frames : timing.framesPerAction,
      intervalMs: fast ? fast.intervalMs : timing.intervalMs };
  });
  const total = steps.reduce((sum, step) => sum + step.frames, 0);
  if (total <= timing.maxFrames) return steps;
  return steps.map((step) => ({ ...step, frames: Math.max(1, Math.floor(step.frames * timing.maxFrames / total)) }));
}

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
    // "frames 1, 2, 3, 4, 5 (+7 more)": the count of frames not listed is said in the language.
    const [, frames = detail, more = ""] = /^(?:frames\s*)?(.*?)(?:\s*\(\+(\d+) more\))?$/.exec(detail) || [];
    params = { frames, more: more && t("reason.moreFrames", { count: more }) };
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
    /** @type {Promise<File>[]} */
    const pending = [];
    const times = [];
    const started = performance.now();
    for (const [index, step] of framePlan(session.actions).entries()) {
      prompt(() => promptFor(step.action), () => t("liveness.step", { n: index + 1, total: session.actions.length }));
      status("liveness", () => t("liveness.follow"), "busy");
      await sleep(timing.settleMs);
      if (!camera.isOn()) await camera.start();
      const first = performance.now();
      for (let i = 0; i < step.frames; i += 1) {
        // Frame i at first + i * intervalMs, not an interval after the last JPEG encode (which
        // would stretch every gap); its time is when it is drawn from the camera.
        const wait = first + i * step.intervalMs - performance.now();
        if (wait > 0) await sleep(wait);
        times.push(Math.round(performance.now() - started));
        const frame = camera.snapshot(`frame${String(pending.length).padStart(3, "0")}.jpg`);
        frame.catch(() => {}); // a camera stopped mid-recording: reported once, by Promise.all below
        pending.push(frame);
      }
    }
    const frames = await Promise.all(pending);
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
