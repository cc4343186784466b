// The mini-program's pages as WeChat runs them (test/page-runner.js: miniprogram-simulate renders
// each page's WXML, WXSS and JS), tapped and typed into like a user does, against the REAL
// running gateway (started by tests/clients/test_miniprogram.py). What is checked is what the
// user sees: the rendered texts and their colours from app.wxss.
// Environment: FACEFLOW_URL, FACEFLOW_API_KEY, FACEFLOW_PHOTO, FACEFLOW_PHOTO_MIRRORED,
// FACEFLOW_NO_FACE, FACEFLOW_NOT_IMAGE, FACEFLOW_SERVICES (comma list of deployed services).
const assert = require("node:assert/strict");
const { describe, test, before, afterEach } = require("node:test");

const runner = require("./page-runner");
const { MESSAGES } = require("../utils/errors");
const { PROMPTS, registerFace } = require("../utils/flows");
const { attributeText, reasonText } = require("../utils/labels");

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/clients/test_miniprogram.py`);
  return value;
}

const URL = required("FACEFLOW_URL");
const KEY = required("FACEFLOW_API_KEY");
const PHOTO = required("FACEFLOW_PHOTO");
const MIRRORED = required("FACEFLOW_PHOTO_MIRRORED");
const NO_FACE = required("FACEFLOW_NO_FACE");
const NOT_IMAGE = required("FACEFLOW_NOT_IMAGE");
const OTHER_PERSON = required("FACEFLOW_OTHER_PERSON"); // a real photo of someone else
const SERVICES = (process.env.FACEFLOW_SERVICES || "").split(",").filter(Boolean);
const GROUP = `mp-pages-${Date.now().toString(36)}`;

// app.wxss: .ok { color: #15803d } and .error { color: #b3261e }
const GREEN = "rgb(21, 128, 61)";
const RED = "rgb(179, 38, 30)";

/** What errors.js's describe() shows for a code: the user message and the code. */
function shown(code) {
  return `${MESSAGES[code]}（${code}）`;
}

/** The app as a user left it after saving the settings on the home page. */
function launchWithSettings(settings) {
  runner.storage.clearStorageSync();
  runner.storage.setStorageSync("faceflow-settings", Object.assign({ baseUrl: URL, apiKey: KEY, groupId: GROUP }, settings));
  return runner.launch();
}

/** The wx calls made since the call count was `start`: [api, path]. */
function callsSince(start) {
  return runner.network.calls.slice(start).map((c) => [c.api, c.url.slice(URL.replace(/\/+$/, "").length)]);
}

let page = null;
function open(name) {
  page = runner.openPage(name);
  return page;
}

afterEach(() => {
  if (page) page.close();
  page = null;
  assert.equal(runner.pendingPicks(), 0, "a picked photo was not used");
});

/** The message line (`<view class="{{messageClass}}">{{message}}</view>`, the first line of
 * that class on the page) and its colour. */
function message(p, className) {
  const lines = p.withClass(className);
  assert.ok(lines.length >= 1, `no .${className} line: ${p.text}`);
  return { text: lines[0].textContent, color: p.color(lines[0]) };
}

describe("Chinese texts of API values (utils/labels.js)", () => {
  test("every reason the liveness service gives (services/liveness/verdict.py) in Chinese, with its code", () => {
    const cases = {
      "NO_FACE_IN_FRAMES: 3 of 24 frames have no face": "24 帧中有 3 帧没有人脸（NO_FACE_IN_FRAMES）",
      "MULTIPLE_FACES: frames 4, 5": "第 4、5 帧中有不止一张人脸（MULTIPLE_FACES）",
      "FACE_CHANGED: frames 0, 1, 2, 3, 4 (+7 more)": "第 0、1、2、3、4 帧等 12 帧中换了一张脸（FACE_CHANGED）",
      "ACTION_NOT_SEEN: nod": "没有看到动作：请点点头（ACTION_NOT_SEEN）",
      SPOOF_SUSPECTED: "像是照片或屏幕，而不是真人（SPOOF_SUSPECTED）",
    };
    for (const [reason, text] of Object.entries(cases)) assert.equal(reasonText(reason), text);
    for (const [action, prompt] of Object.entries(PROMPTS)) {
      assert.equal(reasonText(`ACTION_NOT_SEEN: ${action}`), `没有看到动作：${prompt}（ACTION_NOT_SEEN）`);
    }
  });

  test("an unknown reason code, or a detail that is not understood, is shown as sent", () => {
    for (const reason of ["EYES_CLOSED: frames 1, 2", "EYES_CLOSED", "something went wrong",
      "NO_FACE_IN_FRAMES: most frames", "MULTIPLE_FACES: frames", "ACTION_NOT_SEEN"]) {
      assert.equal(reasonText(reason), reason);
    }
    assert.equal(reasonText("ACTION_NOT_SEEN: cartwheel"), "没有看到动作：cartwheel（ACTION_NOT_SEEN）");
  });

  test("attributes in Chinese with their score as a percentage", () => {
    assert.equal(attributeText("age", { value: 31.6, range: [25.2, 38.9] }), "32 岁（25–39 岁）");
    assert.equal(attributeText("gender", { label: "female", probability: 0.9712 }), "女（97%）");
    assert.equal(attributeText("gender", { label: "male", probability: 0.8 }), "男（80%）");
    const emotions = { angry: "生气", disgust: "厌恶", fear: "害怕", happy: "开心", sad: "难过", surprise: "惊讶", neutral: "平静" };
    for (const [label, text] of Object.entries(emotions)) {
      const probabilities = Object.fromEntries(Object.keys(emotions).map((k) => [k, k === label ? 0.851 : 0.02]));
      assert.equal(attributeText("emotion", { dominant: label, probabilities }), `${text}（85%）`);
    }
    assert.equal(attributeText("pose", { yaw: 12.3, pitch: -3.6, roll: 0.4, source: "landmarks5" }),
      "偏航角 12°，俯仰角 -4°，翻滚角 0°（按 5 个关键点估算）");
    assert.equal(attributeText("pose", { yaw: -20, pitch: 5, roll: -1.2, source: "mesh" }),
      "偏航角 -20°，俯仰角 5°，翻滚角 -1°（按面部网格估算）");
    assert.equal(attributeText("quality", { score: 0.834, blur: 120.5, brightness: 130.2, face_size: 180, eyes_open: null, mouth_open: null }), "83%");
    // A label this does not know is shown as sent.
    assert.equal(attributeText("gender", { label: "unknown", probability: 0.5 }), "unknown（50%）");
  });
});

describe("home page (pages/index)", () => {
  test("saving the server address and key connects and counts the groups", async () => {
    runner.storage.clearStorageSync();
    runner.launch();
    const home = open("index");
    home.type("服务器地址", ` ${URL} `);
    home.type("API 密钥", KEY);
    home.type("人脸库", GROUP);
    home.tap("保存并测试连接");
    await home.until((p) => p.withClass("ok").length === 1, "connected");
    const status = message(home, "ok");
    assert.match(status.text, /^已连接，\d+ 个人脸库$/);
    assert.equal(status.color, GREEN);
    assert.deepEqual(runner.storage.getStorageSync("faceflow-settings"), { baseUrl: URL, apiKey: KEY, groupId: GROUP });
  });

  test("a wrong API key shows the UNAUTHENTICATED message", async () => {
    launchWithSettings({});
    const home = open("index");
    home.type("API 密钥", "not-a-key");
    home.tap("保存并测试连接");
    await home.until((p) => p.withClass("error").length === 1, "an error");
    assert.deepEqual(message(home, "error"), { text: shown("UNAUTHENTICATED"), color: RED });
  });
});

describe("face login page (pages/login)", () => {
  before(() => launchWithSettings({}));

  test("registering without a user name asks for one and calls nothing", async () => {
    runner.storage.removeStorageSync("faceflow-login-user");
    const login = open("login");
    const calls = runner.network.calls.length;
    login.tap("拍照注册");
    await login.until((p) => p.data.message !== "", "a message");
    assert.deepEqual(message(login, "error"), { text: "请先填写用户名", color: RED });
    assert.equal(runner.network.calls.length, calls);
  });

  test("cancelling the photo picker changes nothing", async () => {
    runner.storage.removeStorageSync("faceflow-login-user");
    const login = open("login");
    const calls = runner.network.calls.length;
    login.type("用户名", "eileen");
    login.tap("拍照注册"); // no photo picked: chooseMedia fails with "cancel"
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(login.data.busy, false);
    assert.equal(login.data.message, "");
    assert.equal(runner.network.calls.length, calls);
  });

  test("register a face, then log in with another photo of the same person", async () => {
    runner.storage.removeStorageSync("faceflow-login-user");
    const login = open("login");
    assert.match(login.text, /首次使用：注册人脸/);
    login.type("用户名", " eileen ");
    const start = runner.network.calls.length;
    runner.pickPhoto(PHOTO);
    login.tap("拍照注册");
    await login.until((p) => !p.data.busy && p.data.message !== "", "registered");
    assert.deepEqual(message(login, "ok"), { text: "注册成功：eileen", color: GREEN });
    assert.deepEqual(callsSince(start), [
      ["request", "/api/v1/groups"],
      ["request", `/api/v1/groups/${GROUP}/users/eileen`], // not taken: USER_NOT_FOUND
      ["uploadFile", `/api/v1/groups/${GROUP}/users/eileen/faces`],
    ]);
    assert.equal(runner.storage.getStorageSync("faceflow-login-user"), "eileen");
    assert.match(login.text, /刷脸登录/);
    assert.match(login.text, /已注册：eileen/);
    assert.doesNotMatch(login.text, /首次使用/);
    assert.equal(login.data.photo, PHOTO);

    const sent = runner.network.calls.length;
    runner.pickPhoto(MIRRORED);
    login.tap("拍照登录");
    await login.until((p) => runner.network.calls.length > sent && !p.data.busy && p.data.message !== "", "logged in");
    const result = message(login, "ok");
    const [, score] = result.text.match(/^登录成功：eileen（相似度 (\d+\.\d)）$/) || [];
    assert.ok(score, result.text);
    assert.ok(Number(score) > 0 && Number(score) <= 100, result.text);
    assert.equal(result.color, GREEN);
    assert.deepEqual(callsSince(sent), [["uploadFile", "/api/v1/search"]]);
  });

  test("registering a taken name with another person's photo shows USER_TAKEN, enrolls nothing", async () => {
    runner.storage.removeStorageSync("faceflow-login-user");
    const login = open("login");
    login.type("用户名", "eileen");
    const start = runner.network.calls.length;
    runner.pickPhoto(OTHER_PERSON);
    login.tap("拍照注册");
    await login.until((p) => !p.data.busy && p.data.message !== "", "refused");
    assert.deepEqual(message(login, "error"), { text: shown("USER_TAKEN"), color: RED });
    assert.deepEqual(callsSince(start), [
      ["request", "/api/v1/groups"],
      ["request", `/api/v1/groups/${GROUP}/users/eileen`],
      ["uploadFile", "/api/v1/verify"],
    ]);
    assert.match(login.text, /首次使用：注册人脸/);
  });

  test("a login photo without a face shows the NO_FACE message from the server", async () => {
    runner.storage.setStorageSync("faceflow-login-user", "eileen");
    const login = open("login");
    runner.pickPhoto(NO_FACE);
    login.tap("拍照登录");
    await login.until((p) => !p.data.busy && p.data.message !== "", "an error");
    assert.deepEqual(message(login, "error"), { text: shown("NO_FACE"), color: RED });
  });

  test("another user: 换一个用户 goes back to registration", async () => {
    runner.storage.setStorageSync("faceflow-login-user", "eileen");
    const login = open("login");
    login.tap("换一个用户");
    await login.until((p) => /首次使用：注册人脸/.test(p.text), "the registration card");
    assert.equal(runner.storage.getStorageSync("faceflow-login-user"), "");
  });
});

describe("identity check page (pages/verify)", () => {
  before(async () => {
    const app = launchWithSettings({});
    // Registered as on the login page (tested above): the face is in the group, and the
    // user name is what the login page stored.
    await registerFace(app.globalData.api, GROUP, "collins", PHOTO);
    runner.storage.setStorageSync("faceflow-login-user", "collins");
  });

  test("the registered user, checked with another photo of her, is the same person", async () => {
    const verify = open("verify");
    assert.equal(verify.data.userId, "collins"); // filled in from the login page's storage
    const start = runner.network.calls.length;
    runner.pickPhoto(MIRRORED);
    verify.tap("拍照核验");
    await verify.until((p) => !p.data.busy && p.data.message !== "", "a verdict");
    assert.deepEqual(message(verify, "ok"), { text: "核验通过：是本人", color: GREEN });
    assert.deepEqual(callsSince(start), [["uploadFile", "/api/v1/verify"]]);
    const detail = verify.withClass("hint").map((e) => e.textContent).find((t) => t.startsWith("相似度"));
    assert.match(detail || "", /^相似度 \d+\.\d \/ 100；阈值 FAR 1e-\d: \d+(\.\d+)?(，FAR 1e-\d: \d+(\.\d+)?)*$/);
  });

  test("a double tap checks once: the second tap comes while the first runs", async () => {
    const verify = open("verify");
    const start = runner.network.calls.length;
    runner.pickPhoto(MIRRORED);
    runner.pickPhoto(MIRRORED); // were the second tap taken, it would find a photo too
    verify.tap("拍照核验");
    verify.tap("拍照核验");
    await verify.until((p) => !p.data.busy && p.data.message !== "", "a verdict");
    assert.deepEqual(callsSince(start), [["uploadFile", "/api/v1/verify"]]);
    assert.equal(runner.pendingPicks(), 1); // the second tap never opened the picker
    runner.clearPicks();
    assert.deepEqual(message(verify, "ok"), { text: "核验通过：是本人", color: GREEN });
  });

  test("a user who never registered shows the USER_NOT_FOUND message", async () => {
    const verify = open("verify");
    verify.type("用户名", "somebody-else");
    runner.pickPhoto(PHOTO);
    verify.tap("拍照核验");
    await verify.until((p) => !p.data.busy && p.data.message !== "", "an error");
    assert.deepEqual(message(verify, "error"), { text: shown("USER_NOT_FOUND"), color: RED });
  });
});

describe("attributes page (pages/attributes)", { skip: !SERVICES.includes("attributes") && "the attributes service is not deployed" }, () => {
  before(() => launchWithSettings({}));

  test("a photo shows age, gender, emotion, pose and quality", async () => {
    const attributes = open("attributes");
    runner.pickPhoto(PHOTO);
    attributes.tap("拍照或选择照片");
    await attributes.until((p) => !p.data.busy && p.fields().length > 0, "the attributes");
    const rows = Object.fromEntries(attributes.fields().map((f) => [f.label, f.value]));
    assert.deepEqual(Object.keys(rows), ["年龄", "性别", "表情", "姿态", "质量"]);
    // In Chinese, each with its score as a percentage; no English label or JSON left.
    const [, age, low, high] = (rows["年龄"].match(/^(\d+) 岁（(\d+)–(\d+) 岁）$/) || []).map(Number);
    assert.ok(age > 10 && age < 80 && low <= age && age <= high, rows["年龄"]);
    assert.match(rows["性别"], /^女（\d{1,3}%）$/);
    assert.match(rows["表情"], /^(生气|厌恶|害怕|开心|难过|惊讶|平静)（\d{1,3}%）$/);
    assert.match(rows["姿态"], /^偏航角 -?\d+°，俯仰角 -?\d+°，翻滚角 -?\d+°（按(面部网格| 5 个关键点)估算）$/);
    assert.match(rows["质量"], /^\d{1,3}%$/);
    assert.equal(attributes.withClass("error").length, 0);
  });

  test("a photo without a face shows the NO_FACE message", async () => {
    const attributes = open("attributes");
    runner.pickPhoto(NO_FACE);
    attributes.tap("拍照或选择照片");
    await attributes.until((p) => !p.data.busy && p.data.message !== "", "a message");
    assert.deepEqual(message(attributes, "error"), { text: shown("NO_FACE"), color: RED });
    assert.equal(attributes.fields().length, 0);
  });

  test("a file that is not an image shows the INVALID_IMAGE message from the server", async () => {
    const attributes = open("attributes");
    runner.pickPhoto(NOT_IMAGE);
    attributes.tap("拍照或选择照片");
    await attributes.until((p) => !p.data.busy && p.data.message !== "", "a message");
    assert.deepEqual(message(attributes, "error"), { text: shown("INVALID_IMAGE"), color: RED });
  });
});

describe("action liveness page (pages/liveness)", { skip: !SERVICES.includes("liveness") && "the liveness service is not deployed" }, () => {
  before(() => launchWithSettings({}));

  test("a session prompts each action in turn; a still photo does not pass", async () => {
    runner.setCameraPhoto(PHOTO); // the camera sees a photo that never moves
    const liveness = open("liveness");
    assert.ok(liveness.has("camera"));
    const prompt = () => liveness.withClass("prompt")[0].textContent;
    const step = () => liveness.withClass("center")[0].textContent;
    const seen = [];
    const steps = [];
    const start = runner.network.calls.length;
    liveness.tap("开始活体检测");
    liveness.tap("开始活体检测"); // a double tap: one session (checked by the calls below)
    await liveness.until((p) => {
      const now = prompt();
      if (now && seen[seen.length - 1] !== now) seen.push(now);
      const stepNow = step();
      if (stepNow && steps[steps.length - 1] !== stepNow) steps.push(stepNow);
      return !p.data.busy && p.data.message !== "";
    }, "a verdict", 120000);

    assert.deepEqual(message(liveness, "error"), { text: "未能确认为真人，请按提示重新检测", color: RED });
    assert.equal(prompt(), "活体检测未通过");
    const actions = liveness.fields();
    assert.ok(actions.length >= 1, liveness.text);
    const labels = actions.map((a) => a.label);
    for (const label of labels) assert.ok(Object.values(PROMPTS).includes(label), `no prompt text: ${label}`);
    // Each action was prompted on screen, in the session's order, before the frames went out.
    assert.deepEqual(seen, [...labels, "检测中…", "活体检测未通过"]);
    // Every action's frames come from the camera's frame stream (one size for the whole
    // session): a blink about 15 a second for 2 s (photos 0.5-1 s apart missed most blinks, which
    // last 100-300 ms), the other actions about 7 a second.
    const verifyCall = runner.network.calls.slice(start).find((c) => c.url.endsWith("/verify"));
    const sent = verifyCall.data.frames;
    const times = verifyCall.data.frame_times_ms.split(",").map(Number);
    const blinks = liveness.data.actions.filter((a) => a.action === "blink").length;
    assert.ok(sent.every((frame) => frame.startsWith("data:image/jpeg;base64,")), "sampled frames");
    assert.equal(times.length, sent.length);
    const others = labels.length - blinks;
    assert.ok(sent.length >= 20 * blinks + 8 * others && sent.length <= 30 * blinks + 12 * others, `${sent.length} frames`);
    if (blinks) {
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      assert.ok(gaps.filter((gap) => gap <= 100).length >= 18, `frame gaps: ${gaps}`); // the blink's
    }
    assert.deepEqual(steps, [...labels.map((_, i) => `第 ${i + 1} / ${labels.length} 个动作`), `已拍摄 ${sent.length} 帧`]);
    // A still photo shows no movement: the verdict lists every action as not passed, in red,
    // with the server's reasons under them.
    const verdictRows = liveness.withClass("field").map((row) => row.lastElementChild);
    assert.deepEqual(verdictRows.map((v) => [v.textContent, liveness.color(v)]), labels.map(() => ["未通过", RED]));
    const reasons = liveness.withClass("hint").map((e) => e.textContent).filter(Boolean);
    assert.ok(reasons.length > 0, liveness.text);
    assert.deepEqual(reasons, liveness.data.reasons);
    // The reasons in Chinese with their code, none as the server's English text.
    for (const reason of reasons) {
      assert.match(reason, /^[^A-Za-z]+（(NO_FACE_IN_FRAMES|MULTIPLE_FACES|FACE_CHANGED|ACTION_NOT_SEEN|SPOOF_SUSPECTED)）$/);
    }
    assert.deepEqual(reasons.filter((r) => r.endsWith("（ACTION_NOT_SEEN）")), labels.map((label) => `没有看到动作：${label}（ACTION_NOT_SEEN）`));
    const [created, verified, ...more] = callsSince(start);
    assert.deepEqual(created, ["request", "/api/v1/liveness/sessions"]);
    assert.match(verified[1], /^\/api\/v1\/liveness\/sessions\/[^/]+\/verify$/);
    assert.deepEqual(more, []);
  });

  test("a photo the camera cannot take shows a Chinese message, WeChat's errMsg only as its detail", async () => {
    runner.setCameraPhoto(""); // takePhoto fails with "takePhoto:fail camera not ready"
    try {
      const liveness = open("liveness");
      liveness.tap("开始活体检测");
      await liveness.until((p) => !p.data.busy && p.data.message !== "", "a message");
      assert.deepEqual(message(liveness, "error"), { text: `${MESSAGES.CAMERA}（takePhoto:fail camera not ready）`, color: RED });
      assert.match(MESSAGES.CAMERA, /^拍照失败/);
      assert.equal(liveness.withClass("prompt")[0].textContent, "");
    } finally {
      runner.setCameraPhoto(PHOTO);
    }
  });
});
