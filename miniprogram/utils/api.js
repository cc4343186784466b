// The FaceFlow HTTP API (v1) for the mini-program: wx.request for JSON calls, wx.uploadFile
// for photos (multipart field `image`, as the gateway expects). Two-image and multi-frame calls
// send base64 in a JSON body, because wx.uploadFile carries one file per request.
//
//   const { createApi } = require("./api");
//   const api = createApi({ baseUrl: "https://face.example.com", apiKey: "ff_...", wx });
//   api.detect(tempFilePath, { fields: ["age", "gender"] }).then(...)
//
// Every call returns a Promise; failures reject with FaceflowError { code, message, statusCode }.

const { FaceflowError } = require("./errors");

function trimSlashes(url) {
  return String(url || "").replace(/\/+$/, "");
}

function errorFrom(statusCode, data) {
  let body = data;
  if (typeof body === "string") {
    try { body = JSON.parse(body); } catch (e) { body = null; }
  }
  const envelope = body && body.error;
  if (envelope && envelope.code) {
    return new FaceflowError(envelope.code, envelope.message, statusCode, envelope.request_id);
  }
  return new FaceflowError(`HTTP_${statusCode}`, `HTTP ${statusCode}`, statusCode);
}

function params(values) {
  const out = {};
  Object.keys(values).forEach((key) => {
    const value = values[key];
    if (value === undefined || value === null || value === "") return;
    out[key] = Array.isArray(value) ? value.join(",") : String(value);
  });
  return out;
}

function createApi(options) {
  const wxApi = options.wx;
  const timeout = options.timeout || 30000;
  if (!wxApi || typeof wxApi.request !== "function") throw new Error("createApi needs { wx }");
  const root = () => `${trimSlashes(typeof options.baseUrl === "function" ? options.baseUrl() : options.baseUrl)}/api/v1`;
  const key = () => (typeof options.apiKey === "function" ? options.apiKey() : options.apiKey) || "";

  function request(method, path, data) {
    return new Promise((resolve, reject) => {
      wxApi.request({
        url: root() + path,
        method,
        data,
        timeout,
        header: { "x-api-key": key(), "content-type": "application/json" },
        success(res) {
          if (res.statusCode >= 200 && res.statusCode < 300) {
            if (res.data && typeof res.data === "object") resolve(res.data);
            else reject(new FaceflowError("BAD_RESPONSE", "not a JSON object", res.statusCode));
          } else {
            reject(errorFrom(res.statusCode, res.data));
          }
        },
        fail(err) { reject(new FaceflowError("NETWORK", (err && err.errMsg) || "request:fail")); },
      });
    });
  }

  function upload(path, filePath, formData) {
    return new Promise((resolve, reject) => {
      wxApi.uploadFile({
        url: root() + path,
        filePath,
        name: "image",
        formData: formData || {},
        timeout,
        header: { "x-api-key": key() },
        success(res) {
          if (res.statusCode < 200 || res.statusCode >= 300) {
            reject(errorFrom(res.statusCode, res.data));
            return;
          }
          try {
            resolve(typeof res.data === "string" ? JSON.parse(res.data) : res.data);
          } catch (e) {
            reject(new FaceflowError("BAD_RESPONSE", "not JSON", res.statusCode));
          }
        },
        fail(err) { reject(new FaceflowError("NETWORK", (err && err.errMsg) || "uploadFile:fail")); },
      });
    });
  }

  function base64(filePath) {
    return wxApi.getFileSystemManager().readFileSync(filePath, "base64");
  }

  const seg = encodeURIComponent;

  return {
    /** Faces with boxes and landmarks; fields: mesh, age, gender, emotion, pose, quality. */
    detect(filePath, opts = {}) {
      return upload("/detect", filePath, params({ fields: opts.fields, max_faces: opts.maxFaces }));
    },
    createGroup(groupId) { return request("POST", "/groups", { group_id: groupId }); },
    /** Create the group unless it exists. */
    ensureGroup(groupId) {
      return this.createGroup(groupId).catch((error) => {
        if (error.code !== "ALREADY_EXISTS") throw error;
        return { group_id: groupId };
      });
    },
    listGroups() { return request("GET", "/groups"); },
    deleteGroup(groupId) { return request("DELETE", `/groups/${seg(groupId)}`); },
    enroll(groupId, userId, filePath, opts = {}) {
      return upload(`/groups/${seg(groupId)}/users/${seg(userId)}/faces`, filePath,
        params({ user_info: opts.userInfo, quality_control: opts.qualityControl }));
    },
    getUser(groupId, userId) { return request("GET", `/groups/${seg(groupId)}/users/${seg(userId)}`); },
    deleteUser(groupId, userId) { return request("DELETE", `/groups/${seg(groupId)}/users/${seg(userId)}`); },
    /** 1:N: every face of the photo with its matches (best first). */
    search(filePath, groupIds, opts = {}) {
      return upload("/search", filePath, params({ group_ids: groupIds, top_k: opts.topK, threshold: opts.threshold, fpir: opts.fpir }));
    },
    /** 1:1 against an enrolled user. */
    verifyUser(filePath, groupId, userId) {
      return upload("/verify", filePath, params({ group_id: groupId, user_id: userId }));
    },
    /** 1:1 between two photos (base64 JSON: wx.uploadFile sends one file only). */
    verifyPhotos(pathA, pathB) {
      return request("POST", "/verify", { image_a: base64(pathA), image_b: base64(pathB) });
    },
    livenessCheck(filePath) { return upload("/liveness/check", filePath); },
    createLivenessSession(opts = {}) {
      return request("POST", "/liveness/sessions", params({ action_count: opts.actionCount, ttl_seconds: opts.ttlSeconds }));
    },
    /** Frames taken with the camera component (temp file paths) in capture order, with their
     * capture times in ms (frameTimesMs) when known. */
    verifyLivenessSession(sessionId, framePaths, opts = {}) {
      const body = { frames: framePaths.map(base64) };
      if (opts.frameTimesMs) body.frame_times_ms = opts.frameTimesMs.join(",");
      return request("POST", `/liveness/sessions/${seg(sessionId)}/verify`, body);
    },
  };
}

module.exports = { createApi, errorFrom };
