// Action liveness with the camera component: start a session, prompt each action and take
// photos at intervals (takePhoto), then send the frames for the verdict. A blink is too quick
// for photos 0.5-1 s apart: its step samples the camera's frame stream (utils/camera.js).
const app = getApp();
const { canSampleFrames, sampleFrames } = require("../../utils/camera");
const { describe, MESSAGES } = require("../../utils/errors");
const { promptFor } = require("../../utils/flows");
const { reasonText } = require("../../utils/labels");

const FRAMES_PER_ACTION = 6;
const INTERVAL_MS = 350;
const SETTLE_MS = 800;
const BLINK_SETTLE_MS = 300; // the blink may come as soon as the prompt is read
const BLINK_SAMPLE_MS = 2000;
const BLINK_EVERY_MS = 66; // about 15 frames a second: a 100 ms blink falls on one

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

  /** One action's frames and their times (ms since `started`). */
  async actionFrames(action, started) {
    if (action === "blink" && canSampleFrames(wx, this.camera)) {
      await sleep(BLINK_SETTLE_MS);
      return sampleFrames(wx, this.camera, BLINK_SAMPLE_MS, BLINK_EVERY_MS, started);
    }
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
      for (let i = 0; i < session.actions.length; i += 1) {
        if (this.left) return;
        this.setData({ prompt: promptFor(session.actions[i]), step: `第 ${i + 1} / ${session.actions.length} 个动作` });
        const shot = await this.actionFrames(session.actions[i], started);
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
