// The mini-program: one FaceFlow API client for every page, configured from config.js or the
// settings saved on the home page.
const config = require("./config");
const { createApi } = require("./utils/api");

App({
  globalData: { settings: null, api: null },

  onLaunch() {
    const saved = wx.getStorageSync("faceflow-settings") || {};
    this.globalData.settings = Object.assign({}, config, saved);
    const settings = () => this.globalData.settings;
    this.globalData.api = createApi({
      wx,
      baseUrl: () => settings().baseUrl,
      apiKey: () => settings().apiKey,
    });
  },

  saveSettings(settings) {
    this.globalData.settings = Object.assign({}, this.globalData.settings, settings);
    wx.setStorageSync("faceflow-settings", this.globalData.settings);
  },
});
