// Face login: enroll once (user id + photo), then log in by searching the group with a new photo.
const app = getApp();
const { describe } = require("../../utils/errors");
const { loginByFace, registerFace } = require("../../utils/flows");
const { takePhoto } = require("../../utils/photo");

Page({
  data: { userId: "", registeredAs: "", busy: false, message: "", messageClass: "", photo: "" },

  onLoad() {
    this.setData({ registeredAs: wx.getStorageSync("faceflow-login-user") || "" });
  },

  onUserId(event) { this.setData({ userId: event.detail.value.trim() }); },

  async register() {
    if (!this.data.userId) {
      this.setData({ message: "请先填写用户名", messageClass: "error" });
      return;
    }
    await this.run(async (photo) => {
      await registerFace(app.globalData.api, app.globalData.settings.groupId, this.data.userId, photo);
      wx.setStorageSync("faceflow-login-user", this.data.userId);
      this.setData({ registeredAs: this.data.userId });
      return { message: `注册成功：${this.data.userId}`, ok: true };
    });
  },

  async login() {
    await this.run(async (photo) => {
      const match = await loginByFace(app.globalData.api, app.globalData.settings.groupId, photo);
      if (!match) return { message: "未识别到已注册的用户，请重试", ok: false };
      if (match.user_id !== this.data.registeredAs) {
        return { message: `识别为 ${match.user_id}，不是 ${this.data.registeredAs}`, ok: false };
      }
      return { message: `登录成功：${match.user_id}（相似度 ${match.score.toFixed(1)}）`, ok: true };
    });
  },

  forget() {
    wx.removeStorageSync("faceflow-login-user");
    this.setData({ registeredAs: "", message: "" });
  },

  async run(step) {
    if (this.data.busy) return; // a second tap while one runs (the buttons are disabled too)
    this.setData({ busy: true });
    let photo;
    try {
      photo = await takePhoto();
    } catch (error) {
      this.setData({ busy: false });
      return; // the user cancelled
    }
    this.setData({ photo, message: "" });
    try {
      const result = await step(photo);
      this.setData({ message: result.message, messageClass: result.ok ? "ok" : "error" });
    } catch (error) {
      this.setData({ message: describe(error), messageClass: "error" });
    } finally {
      this.setData({ busy: false });
    }
  },
});
