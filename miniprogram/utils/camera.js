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

/** Whether this WeChat can sample the camera's frames and encode them: onCameraFrame, and an
 * offscreen 2d canvas with createImageData, putImageData and toDataURL (tried on 1x1 pixel).
 * @param {Wx} wxApi @param {Camera} camera */
function canSampleFrames(wxApi, camera) {
  if (typeof camera.onCameraFrame !== "function" || typeof wxApi.createOffscreenCanvas !== "function") return false;
  try {
    const canvas = wxApi.createOffscreenCanvas({ type: "2d", width: 1, height: 1 });
    const context = canvas.getContext("2d");
    return typeof canvas.toDataURL === "function" && typeof context.createImageData === "function"
      && typeof context.putImageData === "function";
  } catch (error) {
    return false;
  }
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

/** The camera's frames for `durationMs`, about one every `everyMs` (a frame is kept when at
 * least 3/4 of that has passed: camera frames come about 33 ms apart, with jitter) and at most
 * `maxFrames`, as JPEG data URLs with their times (ms since `origin`, a Date.now() value).
 * @param {Wx} wxApi @param {Camera} camera @param {number} durationMs @param {number} everyMs
 * @param {number} maxFrames @param {number} origin
 * @returns {Promise<{ frames: string[], times: number[] }>} */
function sampleFrames(wxApi, camera, durationMs, everyMs, maxFrames, origin) {
  return new Promise((resolve, reject) => {
    /** @type {string[]} */ const frames = [];
    /** @type {number[]} */ const times = [];
    const holder = { canvas: /** @type {Canvas | null} */ (null) };
    let last = -Infinity;
    let done = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    /** @param {Error | null} error */
    const finish = (error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        listener.stop();
      } catch (stopError) {
        // the camera is gone (the page was left): the frames taken still count
      } finally {
        if (error) reject(error);
        else resolve({ frames, times });
      }
    };
    const listener = /** @type {NonNullable<Camera["onCameraFrame"]>} */ (camera.onCameraFrame)((frame) => {
      const now = Date.now();
      if (done || now - last < everyMs * 0.75) return;
      last = now;
      try {
        frames.push(frameToJpeg(wxApi, holder, frame));
        times.push(now - origin);
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (frames.length >= maxFrames) finish(null);
    });
    timer = setTimeout(() => finish(null), durationMs);
    listener.start({
      fail: (err) => finish(new Error((err && err.errMsg) || "onCameraFrame:fail")),
    });
  });
}

module.exports = { canSampleFrames, sampleFrames };
