// The FaceFlow HTTP API (/api/v1) for the web demo: fetch with the x-api-key header, errors
// turned into ApiError with the stable code and a message a person can act on.

export const API = "/api/v1";

// One clear message per error code of the public contract (shared/API.md).
export const MESSAGES = {
  UNAUTHENTICATED: "The API key is missing or wrong: paste the key that `make run` printed (also in var/demo-api-key.txt).",
  RATE_LIMITED: "Too many requests for this key: wait a moment and try again.",
  INVALID_IMAGE: "That file is not a readable JPEG, PNG, WebP or BMP image.",
  IMAGE_TOO_LARGE: "The image is too large (bytes or pixels): use a smaller photo.",
  NO_FACE: "No face was found in the photo: use a photo where the face is clearly visible.",
  TOO_MANY_FACES: "There is more than one face: use a photo of one person only.",
  LOW_QUALITY: "The face is too small, blurred, dark or turned away: take a sharper, frontal photo.",
  GROUP_NOT_FOUND: "That group does not exist: enroll someone into it first.",
  USER_NOT_FOUND: "That user is not enrolled in the group.",
  FACE_NOT_FOUND: "That face is not in the gallery (it may have been deleted).",
  ALREADY_EXISTS: "That already exists (the same photo enrolled twice for a person, or an existing group).",
  SESSION_NOT_FOUND: "The liveness session is unknown or was used already: start a new one.",
  SESSION_EXPIRED: "The liveness session expired: start a new one and follow the prompts sooner.",
  SESSION_ALREADY_USED: "This liveness session was checked already (sessions are single use): start a new one.",
  SERVICE_UNAVAILABLE: "A FaceFlow model service is not running right now: try again shortly.",
  DEADLINE_EXCEEDED: "A FaceFlow model service did not answer in time: try again.",
  INVALID_ARGUMENT: "The request was not valid",
  NOT_FOUND: "The server does not know this endpoint (is the service deployed?).",
  INTERNAL: "The server failed unexpectedly; the request id is in its logs.",
  NETWORK: "Cannot reach the FaceFlow server: is it running?",
};

export class ApiError extends Error {
  constructor(code, message, status, requestId) {
    super(message);
    this.code = code;
    this.status = status;
    this.requestId = requestId;
  }
}

/** A message for people: the explanation for the code, plus the server's detail. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return error.message || String(error);
  const hint = MESSAGES[error.code];
  const detail = error.message && error.message !== hint ? ` — ${error.message}` : "";
  return `${hint || "Request failed"}${detail} (${error.code})`;
}

let apiKey = "";
export function setApiKey(key) { apiKey = key.trim(); }

/** Call an endpoint; body is FormData, a plain object (sent as JSON) or undefined. */
export async function call(method, path, body, base = API) {
  const headers = { "x-api-key": apiKey };
  let payload = body;
  if (body && !(body instanceof FormData)) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(base + path, { method, headers, body: payload });
  } catch (error) {
    throw new ApiError("NETWORK", error.message, 0, "");
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const envelope = data && data.error;
    const code = envelope ? envelope.code : `HTTP_${response.status}`;
    throw new ApiError(code, envelope ? envelope.message : response.statusText, response.status,
      envelope ? envelope.request_id : "");
  }
  return data;
}

/** FormData from {name: Blob | File | [Blob...] | string}. */
export function form(fields) {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === null || value === "") continue;
    const values = Array.isArray(value) ? value : [value];
    values.forEach((item, index) => {
      if (item instanceof Blob) data.append(name, item, item.name || `${name}${index}.jpg`);
      else data.append(name, String(item));
    });
  }
  return data;
}

const id = encodeURIComponent;

export const api = {
  readyz: () => call("GET", "/readyz", undefined, ""),
  detect: (image, fields) => call("POST", `/detect${fields.length ? `?fields=${fields.join(",")}` : ""}`, form({ image })),
  createGroup: (groupId) => call("POST", "/groups", { group_id: groupId }),
  listGroups: () => call("GET", "/groups"),
  listUsers: (groupId) => call("GET", `/groups/${id(groupId)}/users`),
  enroll: (groupId, userId, image, userInfo, qualityControl) =>
    call("POST", `/groups/${id(groupId)}/users/${id(userId)}/faces`,
      form({ image, user_info: userInfo, quality_control: qualityControl })),
  search: (image, groupIds) => call("POST", "/search", form({ image, group_ids: groupIds })),
  verify: (imageA, imageB) => call("POST", "/verify", form({ image_a: imageA, image_b: imageB })),
  livenessCheck: (image) => call("POST", "/liveness/check", form({ image })),
  createSession: () => call("POST", "/liveness/sessions", {}),
  verifySession: (sessionId, frames, frameTimesMs) =>
    call("POST", `/liveness/sessions/${id(sessionId)}/verify`, form({ frames, frame_times_ms: frameTimesMs.join(",") })),
};
