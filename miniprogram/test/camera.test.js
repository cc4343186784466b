// utils/camera.js: a blink step samples the camera's frame stream, at most one frame every
// `everyMs`, for `durationMs`; failures end the sampling with an error.
const assert = require("node:assert/strict");
const { test } = require("node:test");

const { canSampleFrames, sampleFrames } = require("../utils/camera");

/** A camera giving a 4x3 frame every `everyMs` while started; remembers start and stop. */
function fakeCamera(everyMs, failStart) {
  const camera = { started: 0, stopped: 0 };
  camera.onCameraFrame = (callback) => ({
    start(options = {}) {
      camera.started += 1;
      if (failStart) {
        setTimeout(() => options.fail && options.fail({ errMsg: "onCameraFrame:fail no permission" }), 0);
        return;
      }
      camera.timer = setInterval(() => callback({ width: 4, height: 3, data: new ArrayBuffer(48) }), everyMs);
    },
    stop() {
      camera.stopped += 1;
      clearInterval(camera.timer);
    },
  });
  return camera;
}

/** An offscreen canvas whose JPEG is the frame's count (the pixels are checked as copied). */
function fakeWx(failAt) {
  let encoded = 0;
  return {
    createOffscreenCanvas: ({ width, height }) => {
      const image = { data: new Uint8ClampedArray(width * height * 4) };
      return {
        width,
        height,
        getContext: () => ({ createImageData: () => image, putImageData: () => {} }),
        toDataURL: (type) => {
          encoded += 1;
          if (encoded === failAt) throw new Error("canvas: out of memory");
          return `data:${type};base64,frame${encoded}`;
        },
      };
    },
  };
}

test("frames come at most one per interval, for the duration, with times from the origin", async () => {
  const camera = fakeCamera(10);
  const origin = Date.now() - 1000;
  const { frames, times } = await sampleFrames(fakeWx(), camera, 600, 60, origin);
  assert.ok(frames.length >= 7 && frames.length <= 11, `${frames.length} frames`);
  assert.equal(frames.length, times.length);
  assert.match(frames[0], /^data:image\/jpeg;base64,frame1$/);
  for (let i = 1; i < times.length; i += 1) assert.ok(times[i] - times[i - 1] >= 60, String(times));
  assert.ok(times[0] >= 1000 && times[times.length - 1] < 1000 + 600 + 50);
  assert.deepEqual([camera.started, camera.stopped], [1, 1]);
});

test("a camera that cannot stream frames is an error", async () => {
  const camera = fakeCamera(10, true);
  await assert.rejects(sampleFrames(fakeWx(), camera, 300, 60, Date.now()), /onCameraFrame:fail no permission/);
  assert.equal(camera.stopped, 1);
});

test("a frame that cannot be encoded stops the sampling with its error", async () => {
  const camera = fakeCamera(10);
  await assert.rejects(sampleFrames(fakeWx(3), camera, 600, 30, Date.now()), /canvas: out of memory/);
  assert.equal(camera.stopped, 1);
});

test("older WeChat (no onCameraFrame or offscreen canvas) takes photos instead", () => {
  assert.equal(canSampleFrames({}, fakeCamera(10)), false);
  assert.equal(canSampleFrames(fakeWx(), {}), false);
  assert.equal(canSampleFrames(fakeWx(), fakeCamera(10)), true);
});
