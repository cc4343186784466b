// Attributes of the main face: detect with fields age, gender, emotion, pose, quality.
const app = getApp();
const { describe } = require("../../utils/errors");
const { attributesOf } = require("../../utils/flows");
const { attributeText } = require("../../utils/labels");
const { takePhoto } = require("../../utils/photo");

const NAMES = { age: "年龄", gender: "性别", emotion: "表情", pose: "姿态", quality: "质量" };

Page({
  data: { busy: false, message: "", messageClass: "", rows: [], photo: "" },

  async analyse() {
    if (this.data.busy) return; // a second tap while one runs (the button is disabled too)
    this.setData({ busy: true });
    let photo;
    try { photo = await takePhoto(); } catch (error) { this.setData({ busy: false }); return; }
    this.setData({ photo, message: "", rows: [] });
    try {
      const attributes = await attributesOf(app.globalData.api, photo);
      if (!attributes) {
        this.setData({ message: describe({ code: "NO_FACE" }), messageClass: "error" });
        return;
      }
      const rows = Object.keys(attributes).map((name) => ({ name: NAMES[name] || name, value: attributeText(name, attributes[name]) }));
      this.setData({ rows });
    } catch (error) {
      this.setData({ message: describe(error), messageClass: "error" });
    } finally {
      this.setData({ busy: false });
    }
  },
});
