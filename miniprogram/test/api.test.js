// The mini-program's API module and flows against the REAL running gateway (started by
// tests/clients/test_miniprogram.py), through test/wx-adapter.js standing in for wx.*.
// Environment: FACEFLOW_URL, FACEFLOW_API_KEY, FACEFLOW_PHOTO, FACEFLOW_PHOTO_MIRRORED,
// FACEFLOW_NO_FACE, FACEFLOW_NOT_IMAGE, FACEFLOW_SERVICES (comma list of deployed services).
const assert = require("node:assert/strict");
const http = require("node:http");
const net = require("node:net");
const { describe, test, before } = require("node:test");

const { createApi } = require("../utils/api");
const { describe: describeError, FaceflowError, MESSAGES } = require("../utils/errors");
const flows = require("../utils/flows");
const { createWxAdapter } = require("./wx-adapter");

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
const OTHER_PERSON = required("FACEFLOW_OTHER_PERSON"); // a real photo of someone else
const NOT_IMAGE = required("FACEFLOW_NOT_IMAGE");
const SERVICES = (process.env.FACEFLOW_SERVICES || "").split(",").filter(Boolean);
const DOCUMENTED_CODES = ["INVALID_IMAGE", "IMAGE_TOO_LARGE", "NO_FACE", "TOO_MANY_FACES",
  "LOW_QUALITY", "GROUP_NOT_FOUND", "USER_NOT_FOUND", "FACE_NOT_FOUND", "ALREADY_EXISTS",
  "UNAUTHENTICATED", "RATE_LIMITED", "SESSION_NOT_FOUND", "SESSION_EXPIRED",
  "SERVICE_UNAVAILABLE", "INVALID_ARGUMENT"];

const wx = createWxAdapter();
const api = createApi({ baseUrl: `${URL}/`, apiKey: KEY, wx });
const group = `mp-${Date.now().toString(36)}`;

async function rejectsWith(promise, code, statusCode) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof FaceflowError, `not a FaceflowError: ${error}`);
    assert.equal(error.code, code, error.message);
    if (statusCode !== undefined) assert.equal(error.statusCode, statusCode);
    return true;
  });
}

function closedPort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

describe("errors", () => {
  test("every documented code has a user message", () => {
    for (const code of DOCUMENTED_CODES) assert.ok(MESSAGES[code], `no message for ${code}`);
    assert.match(describeError(new FaceflowError("NO_FACE", "x", 400)), /^未检测到人脸.*（NO_FACE）$/);
  });

  test("a wrong key is UNAUTHENTICATED (401)", async () => {
    const wrong = createApi({ baseUrl: URL, apiKey: "not-a-key", wx });
    await rejectsWith(wrong.detect(PHOTO), "UNAUTHENTICATED", 401);
    await rejectsWith(wrong.listGroups(), "UNAUTHENTICATED", 401);
  });

  test("an unreachable server is NETWORK", async () => {
    const down = createApi({ baseUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: KEY, wx });
    await rejectsWith(down.detect(PHOTO), "NETWORK");
    await rejectsWith(down.listGroups(), "NETWORK");
  });

  for (const [what, type, body] of [["a proxy's HTML page", "text/html", "<html>proxy</html>"], ["JSON null", "application/json", "null"]]) {
    test(`a 200 answer that is ${what} is BAD_RESPONSE, for uploads and requests alike`, async () => {
      const proxy = http.createServer((req, res) => {
        req.resume();
        req.on("end", () => { res.writeHead(200, { "content-type": type }); res.end(body); });
      });
      await new Promise((resolve) => proxy.listen(0, "127.0.0.1", () => resolve(undefined)));
      const address = /** @type {import("node:net").AddressInfo} */ (proxy.address());
      try {
        const behind = createApi({ baseUrl: `http://127.0.0.1:${address.port}`, apiKey: KEY, wx });
        await rejectsWith(behind.detect(PHOTO), "BAD_RESPONSE", 200);
        await rejectsWith(behind.listGroups(), "BAD_RESPONSE", 200);
      } finally {
        proxy.close();
      }
    });
  }

  test("a 429 carries the server's Retry-After into the message", async () => {
    const busy = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(429, { "content-type": "application/json", "retry-after": "30" });
        res.end(JSON.stringify({ error: { code: "RATE_LIMITED", message: "slow down", request_id: "r" } }));
      });
    });
    await new Promise((resolve) => busy.listen(0, "127.0.0.1", () => resolve(undefined)));
    const address = /** @type {import("node:net").AddressInfo} */ (busy.address());
    try {
      const behind = createApi({ baseUrl: `http://127.0.0.1:${address.port}`, apiKey: KEY, wx });
      await assert.rejects(behind.listGroups(), (error) => {
        assert.equal(error.code, "RATE_LIMITED");
        assert.equal(error.statusCode, 429);
        assert.equal(error.retryAfter, 30);
        assert.equal(describeError(error), "请求过于频繁，请稍后再试（RATE_LIMITED），请 30 秒后再试");
        return true;
      });
      // wx.uploadFile's result has no headers: the code alone, no invented wait
      await assert.rejects(behind.detect(PHOTO), (error) => {
        assert.equal(error.code, "RATE_LIMITED");
        assert.equal(error.retryAfter, 0);
        assert.equal(describeError(error), "请求过于频繁，请稍后再试（RATE_LIMITED）");
        return true;
      });
    } finally {
      busy.close();
    }
  });

  test("a file that is not an image is INVALID_IMAGE (400)", async () => {
    await rejectsWith(api.detect(NOT_IMAGE), "INVALID_IMAGE", 400);
  });

  test("an unknown detect field is INVALID_ARGUMENT (400)", async () => {
    await rejectsWith(api.detect(PHOTO, { fields: ["shoe_size"] }), "INVALID_ARGUMENT", 400);
  });
});

describe("detect and attributes", () => {
  test("detect uploads with wx.uploadFile and finds the face", async () => {
    const before = wx.calls.length;
    const result = await api.detect(PHOTO);
    assert.equal(result.faces.length, 1);
    assert.deepEqual(result.image, { width: 512, height: 512 });
    const call = wx.calls[before];
    assert.equal(call.api, "uploadFile");
    assert.equal(call.name, "image");
  });

  test("detect with the mesh field", async () => {
    const result = await api.detect(PHOTO, { fields: ["mesh"], maxFaces: 1 });
    assert.equal(result.faces[0].mesh.length, 468);
  });

  test("attributes of the main face", { skip: !SERVICES.includes("attributes") && "the attributes service is not deployed" }, async () => {
    const attributes = await flows.attributesOf(api, PHOTO);
    for (const field of ["age", "gender", "emotion", "pose", "quality"]) assert.ok(field in attributes, field);
  });

  test("attributes of a photo without a face is null", { skip: !SERVICES.includes("attributes") && "the attributes service is not deployed" }, async () => {
    assert.equal(await flows.attributesOf(api, NO_FACE), null);
  });
});

describe("face login and identity check", () => {
  before(async () => {
    await flows.registerFace(api, group, "eileen", PHOTO, "Eileen Collins");
  });

  test("registering again into the same group works (ensureGroup)", async () => {
    const result = await flows.registerFace(api, group, "eileen", MIRRORED);
    assert.equal(result.user_id, "eileen");
    assert.equal(result.group_id, group);
    assert.ok(result.face_token);
  });

  test("login finds the registered user", async () => {
    const match = await flows.loginByFace(api, group, MIRRORED);
    assert.equal(match.user_id, "eileen");
    assert.ok(match.score > 0 && match.score <= 100);
  });

  test("login in a group where nobody is registered finds nobody", async () => {
    const empty = `${group}-empty`;
    await api.ensureGroup(empty);
    assert.equal(await flows.loginByFace(api, empty, PHOTO), null);
  });

  test("login with a photo without a face is NO_FACE (400)", async () => {
    await rejectsWith(flows.loginByFace(api, group, NO_FACE), "NO_FACE", 400);
  });

  test("login into a group that does not exist is GROUP_NOT_FOUND (404)", async () => {
    await rejectsWith(flows.loginByFace(api, "no-such-group", PHOTO), "GROUP_NOT_FOUND", 404);
  });

  test("registering a taken user id with another person's face is USER_TAKEN, nothing enrolled", async () => {
    const before = await api.getUser(group, "eileen");
    await rejectsWith(flows.registerFace(api, group, "eileen", OTHER_PERSON), "USER_TAKEN", 409);
    const after = await api.getUser(group, "eileen");
    assert.equal(after.faces.length, before.faces.length);
    const login = await flows.loginByFace(api, group, OTHER_PERSON);
    assert.ok(login === null || login.user_id !== "eileen");
  });

  test("registering a photo without a face is NO_FACE (400)", async () => {
    await rejectsWith(flows.registerFace(api, group, "nobody", NO_FACE), "NO_FACE", 400);
  });

  test("identity check passes for the same person", async () => {
    const result = await flows.checkIdentity(api, group, "eileen", MIRRORED);
    assert.equal(result.samePerson, true);
    assert.ok(result.score >= result.thresholds["1e-4"]);
  });

  test("identity check of a user that is not enrolled is USER_NOT_FOUND (404)", async () => {
    await rejectsWith(flows.checkIdentity(api, group, "somebody", PHOTO), "USER_NOT_FOUND", 404);
  });

  test("two photos compared through a base64 JSON body", async () => {
    const result = await api.verifyPhotos(PHOTO, MIRRORED);
    assert.equal(result.same_person, true);
    await rejectsWith(api.verifyPhotos(PHOTO, NO_FACE), "NO_FACE", 400);
  });
});

describe("gallery management", () => {
  test("groups, users and deletion through wx.request", async () => {
    const own = `${group}-admin`;
    await api.createGroup(own);
    await rejectsWith(api.createGroup(own), "ALREADY_EXISTS", 409);
    const listed = await api.listGroups();
    assert.ok(listed.groups.some((g) => g.group_id === own));
    const enrolled = await api.enroll(own, "eileen", PHOTO, { userInfo: "Eileen Collins" });
    const user = await api.getUser(own, "eileen");
    assert.equal(user.user_info, "Eileen Collins");
    assert.deepEqual(user.faces.map((f) => f.face_token), [enrolled.face_token]);
    await api.deleteUser(own, "eileen");
    await rejectsWith(api.getUser(own, "eileen"), "USER_NOT_FOUND", 404);
    await api.deleteGroup(own);
    await rejectsWith(api.getUser(own, "eileen"), "GROUP_NOT_FOUND", 404);
    assert.ok(wx.calls.some((c) => c.api === "request" && c.method === "DELETE"));
  });

  test("ids with '@' and '.' travel encoded in paths; other characters are INVALID_ARGUMENT", async () => {
    const own = `${group}.mail`;
    await api.createGroup(own);
    const enrolled = await api.enroll(own, "eileen.collins@nasa", PHOTO);
    assert.equal(enrolled.user_id, "eileen.collins@nasa");
    assert.equal((await api.getUser(own, "eileen.collins@nasa")).faces.length, 1);
    await rejectsWith(api.createGroup("两个 字"), "INVALID_ARGUMENT", 400);
    await rejectsWith(api.enroll(own, "张 三", PHOTO), "INVALID_ARGUMENT", 400);
  });
});

describe("action liveness", { skip: !SERVICES.includes("liveness") && "the liveness service is not deployed" }, () => {
  test("a session lists actions with prompts, and a still photo does not pass", async () => {
    const session = await api.createLivenessSession({ actionCount: 2 });
    assert.ok(session.session_id);
    assert.equal(session.actions.length, 2);
    for (const action of session.actions) assert.notEqual(flows.promptFor(action), action, `no prompt for ${action}`);
    const frames = Array.from({ length: 6 * session.actions.length }, () => PHOTO);
    const frameTimesMs = frames.map((_, i) => i * 350);
    const verdict = await api.verifyLivenessSession(session.session_id, frames, { frameTimesMs });
    assert.equal(verdict.live, false);
    assert.deepEqual(verdict.actions.map((a) => a.action), session.actions);
    assert.ok(verdict.reasons.length > 0);
    await rejectsWith(api.verifyLivenessSession(session.session_id, frames), "SESSION_ALREADY_USED", 409);
  });

  test("an unknown session is SESSION_NOT_FOUND (404)", async () => {
    await rejectsWith(api.verifyLivenessSession("no-such-session", [PHOTO, PHOTO, PHOTO, PHOTO]), "SESSION_NOT_FOUND", 404);
  });

  test("passive check of one photo", async () => {
    const result = await api.livenessCheck(PHOTO);
    assert.equal(typeof result.live, "boolean");
    assert.equal(typeof result.score, "number");
    assert.equal(result.live, result.score >= result.threshold);
  });
});
