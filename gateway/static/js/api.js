// The FaceFlow HTTP API (/api/v1) for the web demo: fetch with the x-api-key header, errors
// turned into ApiError with the stable code and a message a person can act on (i18n.js).
import { has, LocalizedError, t } from "./i18n.js";

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(code, message, status, requestId) {
    super(message);
    this.code = code;
    this.status = status;
    this.requestId = requestId;
  }
}

/** A message for people, in the page's language: the explanation for the code (i18n.js has one
 * per code of the contract, shared/API.md), with the server's detail where the language shows
 * it; the server's own message for a code this page does not know. */
export function describeError(error) {
  if (error instanceof LocalizedError) return t(error.key, error.params);
  if (!(error instanceof ApiError)) return error.message || String(error);
  const key = `error.${error.code}`;
  const detail = error.message || "";
  if (!has(key)) return t("error.unknown", { detail: detail || error.code, code: error.code });
  const message = t(key, { detail });
  const shown = detail && detail !== message && !message.includes(detail);
  return t(shown ? "error.withDetail" : "error.plain", { message, detail, code: error.code });
}

/** The server's own message and the request id (a tooltip), or "". */
export function errorDetail(error) {
  if (!(error instanceof ApiError) || !error.message) return "";
  return t("error.tooltip", { detail: error.message, requestId: error.requestId || "-" });
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
