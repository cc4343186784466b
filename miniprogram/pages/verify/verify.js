// Identity check: verify a new photo against an enrolled user of the group.
const app = getApp();
const { describe } = require("../../utils/errors");
const { checkIdentity } = require("../../utils/flows");
const { takePhoto } = require("../../utils/photo");

Page({
  data: { userId: "", busy: false, message: "", messageClass: "", detail: "", photo: "" },

  onLoad() {
    this.setData({ userId: wx.getStorageSync("faceflow-login-user") || "" });
  },

  onUserId(event) { this.setData({ userId: event.detail.value.trim() }); },

  async check() {
    if (!this.data.userId) {
      this.setData({ message: "请先填写用户名", messageClass: "error" });
      return;
    }
    if (this.data.busy) return; // a second tap while one runs (the button is disabled too)
    this.setData({ busy: true });
    let photo;
    try { photo = await takePhoto(); } catch (error) { this.setData({ busy: false }); return; }
    this.setData({ photo, message: "", detail: "" });
    try {
      const result = await checkIdentity(app.globalData.api, app.globalData.settings.groupId, this.data.userId, photo);
      const thresholds = Object.keys(result.thresholds || {}).map((far) => `FAR ${far}: ${result.thresholds[far]}`).join("，");
      this.setData({
        message: result.samePerson ? "核验通过：是本人" : "核验未通过：不是同一个人",
        messageClass: result.samePerson ? "ok" : "error",
        detail: `相似度 ${result.score.toFixed(1)} / 100；阈值 ${thresholds}`,
      });
    } catch (error) {
      this.setData({ message: describe(error), messageClass: "error" });
    } finally {
      this.setData({ busy: false });
    }
  },
});
