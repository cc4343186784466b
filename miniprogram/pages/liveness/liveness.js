// Action liveness with the camera component: start a session, prompt each action and capture
// its frames, then send them for the verdict. Frames come from the camera's frame stream
// (utils/camera.js): a blink (100-300 ms) needs about 15 a second, which photos taken with
// takePhoto (0.5-1 s apart) cannot give. A WeChat that cannot sample frames takes photos for
// the whole session (frames of one size: the service tracks the face from frame to frame).
const app = getApp();
const { canSampleFrames, sampleFrames } = require("../../utils/camera");
const { describe, MESSAGES } = require("../../utils/errors");
const { promptFor } = require("../../utils/flows");
const { reasonText } = require("../../utils/labels");

const FRAMES_PER_ACTION = 6; // photos
const INTERVAL_MS = 350;
const SETTLE_MS = 800;
const SAMPLE_SETTLE_MS = 300; // sampled: the action may come as soon as the prompt is read
const SAMPLE_MS = 2000;
const SAMPLING = {
  blink: { everyMs: 66, maxFrames: 30 }, // about 15 a second: a 100 ms blink falls on one
  other: { everyMs: 150, maxFrames: 12 }, // turns and nods are slower; 30 + 3 x 12 < 100 frames
};
const MIN_SAMPLED = 5; // fewer: the stream did not run (camera not ready), photos instead

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

Page({
  data: { busy: false, prompt: "", step: "", message: "", messageClass: "", actions: [], reasons: [] },

  onLoad() {
    this.camera = wx.createCameraContext();
    this.left = false;
  },

  onUnload() {
    this.left = true; // a session in progress stops at its next frame
  },

  onCameraError() {
    this.setData({ message: "无法使用摄像头，请在设置中允许使用摄像头", messageClass: "error" });
  },

  takeFrame() {
    return new Promise((resolve, reject) => {
      this.camera.takePhoto({
        quality: "low",
        success: (res) => resolve(res.tempImagePath),
        // WeChat's errMsg is English: the message is ours, errMsg only its detail.
        fail: (err) => reject(new Error(`${MESSAGES.CAMERA}（${(err && err.errMsg) || "takePhoto:fail"}）`)),
      });
    });
  },

  /** One action's frames from the camera's frame stream, or null when it gave (almost) none.
   * @param {string} action @param {number} started */
  async sampledFrames(action, started) {
    await sleep(SAMPLE_SETTLE_MS);
    const { everyMs, maxFrames } = action === "blink" ? SAMPLING.blink : SAMPLING.other;
    try {
      const shot = await sampleFrames(wx, this.camera, SAMPLE_MS, everyMs, maxFrames, started);
      return shot.frames.length >= MIN_SAMPLED ? shot : null;
    } catch (error) {
      return null;
    }
  },

  /** One action's photos (takePhoto) and their times (ms since `started`). */
  async photoFrames(started) {
    await sleep(SETTLE_MS);
    const frames = [];
    const times = [];
    for (let k = 0; k < FRAMES_PER_ACTION && !this.left; k += 1) {
      times.push(Date.now() - started);
      frames.push(await this.takeFrame());
      await sleep(INTERVAL_MS);
    }
    return { frames, times };
  },

  async start() {
    if (this.data.busy) return; // a double tap starts one session (disabled takes a render)
    const api = app.globalData.api;
    this.setData({ busy: true, message: "", actions: [], reasons: [] });
    try {
      const session = await api.createLivenessSession();
      const frames = [];
      const times = [];
      const started = Date.now();
      let sampling = canSampleFrames(wx, this.camera);
      for (let i = 0; i < session.actions.length; i += 1) {
        if (this.left) return;
        this.setData({ prompt: promptFor(session.actions[i]), step: `第 ${i + 1} / ${session.actions.length} 个动作` });
        let shot = sampling ? await this.sampledFrames(session.actions[i], started) : null;
        if (sampling && !shot) {
          // the stream stopped midway: frames of two sizes would not track; start again
          if (frames.length) throw new Error(`${MESSAGES.CAMERA}（onCameraFrame）`);
          sampling = false; // it never ran: photos for the whole session
        }
        if (!shot) shot = await this.photoFrames(started);
        frames.push(...shot.frames);
        times.push(...shot.times);
      }
      if (this.left) return;
      this.setData({ prompt: "检测中…", step: `已拍摄 ${frames.length} 帧` });
      const verdict = await api.verifyLivenessSession(session.session_id, frames, { frameTimesMs: times });
      this.setData({
        prompt: verdict.live ? "活体检测通过" : "活体检测未通过",
        step: "",
        message: verdict.live ? "是真人" : "未能确认为真人，请按提示重新检测",
        messageClass: verdict.live ? "ok" : "error",
        actions: verdict.actions.map((item) => ({ action: item.action, label: promptFor(item.action), passed: item.passed })),
        reasons: (verdict.reasons || []).map(reasonText),
      });
    } catch (error) {
      this.setData({ prompt: "", step: "", message: describe(error), messageClass: "error" });
    } finally {
      this.setData({ busy: false });
    }
  },
});
