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

test("frames come about one per interval, for the duration, with times from the origin", async () => {
  const camera = fakeCamera(10);
  const origin = Date.now() - 1000;
  const { frames, times } = await sampleFrames(fakeWx(), camera, 600, 60, 100, origin);
  // 600 ms / 60 ms: about 10 (at most 14: a frame is kept after 45 ms; fewer on a loaded machine)
  assert.ok(frames.length >= 3 && frames.length <= 14, `${frames.length} frames`);
  assert.equal(frames.length, times.length);
  assert.match(frames[0], /^data:image\/jpeg;base64,frame1$/);
  for (let i = 1; i < times.length; i += 1) assert.ok(times[i] - times[i - 1] >= 45, String(times));
  assert.ok(times[0] >= 1000 && times[times.length - 1] < 1000 + 600 + 300);
  assert.deepEqual([camera.started, camera.stopped], [1, 1]);
});

test("sampling ends at maxFrames", async () => {
  const camera = fakeCamera(10);
  const began = Date.now();
  const { frames } = await sampleFrames(fakeWx(), camera, 5000, 20, 5, began);
  assert.equal(frames.length, 5);
  assert.ok(Date.now() - began < 4000, "it did not wait for the 5 s duration");
  assert.deepEqual([camera.started, camera.stopped], [1, 1]);
});

test("a camera whose stop fails (the page was left) still gives the frames taken", async () => {
  const camera = fakeCamera(10);
  const broken = camera.onCameraFrame;
  camera.onCameraFrame = (callback) => {
    const inner = broken(callback);
    return { start: inner.start, stop() { inner.stop(); throw new Error("camera gone"); } };
  };
  const { frames } = await sampleFrames(fakeWx(), camera, 200, 20, 100, Date.now());
  assert.ok(frames.length > 0);
});

test("a camera that cannot stream frames is an error", async () => {
  const camera = fakeCamera(10, true);
  await assert.rejects(sampleFrames(fakeWx(), camera, 300, 60, 100, Date.now()), /onCameraFrame:fail no permission/);
  assert.equal(camera.stopped, 1);
});

test("a frame that cannot be encoded stops the sampling with its error", async () => {
  const camera = fakeCamera(10);
  await assert.rejects(sampleFrames(fakeWx(3), camera, 600, 30, 100, Date.now()), /canvas: out of memory/);
  assert.equal(camera.stopped, 1);
});

test("older WeChat (no onCameraFrame, no offscreen canvas or one without toDataURL) takes photos", () => {
  assert.equal(canSampleFrames({}, fakeCamera(10)), false);
  assert.equal(canSampleFrames(fakeWx(), {}), false);
  const noEncoder = { createOffscreenCanvas: (size) => ({ ...fakeWx().createOffscreenCanvas(size), toDataURL: undefined }) };
  assert.equal(canSampleFrames(noEncoder, fakeCamera(10)), false);
  assert.equal(canSampleFrames(fakeWx(), fakeCamera(10)), true);
});
