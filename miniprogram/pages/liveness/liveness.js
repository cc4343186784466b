// Action liveness with the camera component: start a session, prompt each action and take
// photos at intervals (takePhoto), then send the frames for the verdict.
const app = getApp();
const { describe, MESSAGES } = require("../../utils/errors");
const { promptFor } = require("../../utils/flows");
const { reasonText } = require("../../utils/labels");

const FRAMES_PER_ACTION = 6;
const INTERVAL_MS = 350;
const SETTLE_MS = 800;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

Page({
  data: { busy: false, prompt: "", step: "", message: "", messageClass: "", actions: [], reasons: [] },

  onLoad() {
    this.camera = wx.createCameraContext();
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

  async start() {
    const api = app.globalData.api;
    this.setData({ busy: true, message: "", actions: [], reasons: [] });
    try {
      const session = await api.createLivenessSession();
      const frames = [];
      const times = [];
      const started = Date.now();
      for (let i = 0; i < session.actions.length; i += 1) {
        this.setData({ prompt: promptFor(session.actions[i]), step: `第 ${i + 1} / ${session.actions.length} 个动作` });
        await sleep(SETTLE_MS);
        for (let k = 0; k < FRAMES_PER_ACTION; k += 1) {
          times.push(Date.now() - started);
          frames.push(await this.takeFrame());
          await sleep(INTERVAL_MS);
        }
      }
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
