// @ts-check
// Frames for action liveness. A blink closes the eyes for about 100-300 ms: photos taken with
// takePhoto come 0.5-1 s apart and miss most blinks, so a blink step samples the camera's own
// frame stream (CameraContext.onCameraFrame) instead, encoding frames to JPEG on an offscreen
// canvas. Kept free of page code so that node tests it.

/** @typedef {{ width: number, height: number, data: ArrayBuffer }} CameraFrame */
/** @typedef {{ start(o?: { success?: () => void, fail?: (e: { errMsg?: string }) => void }): void, stop(): void }} FrameListener */
/** @typedef {{ onCameraFrame?: (cb: (frame: CameraFrame) => void) => FrameListener }} Camera */
/** @typedef {{ width: number, height: number, getContext(kind: "2d"): any, toDataURL(type: string, quality: number): string }} Canvas */
/** @typedef {{ createOffscreenCanvas?: (o: { type: "2d", width: number, height: number }) => Canvas }} Wx */

/** Whether this WeChat can sample the camera's frames (base library 2.16.1 and later).
 * @param {Wx} wxApi @param {Camera} camera */
function canSampleFrames(wxApi, camera) {
  return typeof camera.onCameraFrame === "function" && typeof wxApi.createOffscreenCanvas === "function";
}

/** One camera frame (RGBA) as a JPEG data URL, drawn on `canvas` (made or resized as needed).
 * @param {Wx} wxApi @param {{ canvas: Canvas | null }} holder @param {CameraFrame} frame */
function frameToJpeg(wxApi, holder, frame) {
  if (!holder.canvas || holder.canvas.width !== frame.width || holder.canvas.height !== frame.height) {
    holder.canvas = /** @type {NonNullable<Wx["createOffscreenCanvas"]>} */ (wxApi.createOffscreenCanvas)({ type: "2d", width: frame.width, height: frame.height });
  }
  const context = holder.canvas.getContext("2d");
  const image = context.createImageData(frame.width, frame.height);
  image.data.set(new Uint8ClampedArray(frame.data));
  context.putImageData(image, 0, 0);
  return holder.canvas.toDataURL("image/jpeg", 0.8);
}

/** The camera's frames for `durationMs`, at most one every `everyMs`, as JPEG data URLs with
 * their times (ms since `origin`, a Date.now() value).
 * @param {Wx} wxApi @param {Camera} camera @param {number} durationMs @param {number} everyMs
 * @param {number} origin @returns {Promise<{ frames: string[], times: number[] }>} */
function sampleFrames(wxApi, camera, durationMs, everyMs, origin) {
  return new Promise((resolve, reject) => {
    /** @type {string[]} */ const frames = [];
    /** @type {number[]} */ const times = [];
    const holder = { canvas: /** @type {Canvas | null} */ (null) };
    const began = Date.now();
    let last = -Infinity;
    let done = false;
    /** @param {Error | null} error */
    const finish = (error) => {
      if (done) return;
      done = true;
      listener.stop();
      if (error) reject(error);
      else resolve({ frames, times });
    };
    const listener = /** @type {NonNullable<Camera["onCameraFrame"]>} */ (camera.onCameraFrame)((frame) => {
      const now = Date.now();
      if (done || now - last < everyMs) return;
      last = now;
      try {
        frames.push(frameToJpeg(wxApi, holder, frame));
        times.push(now - origin);
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    });
    listener.start({
      fail: (err) => finish(new Error((err && err.errMsg) || "onCameraFrame:fail")),
    });
    setTimeout(() => finish(null), durationMs - (Date.now() - began));
  });
}

module.exports = { canSampleFrames, sampleFrames };
