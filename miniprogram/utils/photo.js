// Take or choose one photo (front camera first); resolves with its temp file path.
function takePhoto() {
  return new Promise((resolve, reject) => {
    wx.chooseMedia({
      count: 1,
      mediaType: ["image"],
      sourceType: ["camera", "album"],
      camera: "front",
      sizeType: ["compressed"],
      success: (res) => resolve(res.tempFiles[0].tempFilePath),
      fail: (err) => reject(new Error((err && err.errMsg) || "chooseMedia:fail")),
    });
  });
}

module.exports = { takePhoto };
