// Home: server address, API key and group, saved locally; links to the four demos.
const app = getApp();
const { describe } = require("../../utils/errors");

Page({
  data: { baseUrl: "", apiKey: "", groupId: "", status: "", statusClass: "" },

  onLoad() {
    const { baseUrl, apiKey, groupId } = app.globalData.settings;
    this.setData({ baseUrl, apiKey, groupId });
  },

  onInput(event) {
    this.setData({ [event.currentTarget.dataset.key]: event.detail.value.trim() });
  },

  save() {
    const { baseUrl, apiKey, groupId } = this.data;
    app.saveSettings({ baseUrl, apiKey, groupId });
    this.setData({ status: "连接中…", statusClass: "hint" });
    app.globalData.api.listGroups()
      .then((body) => this.setData({ status: `已连接，${body.groups.length} 个人脸库`, statusClass: "ok" }))
      .catch((error) => this.setData({ status: describe(error), statusClass: "error" }));
  },
});
