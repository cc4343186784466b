// @ts-check
// FaceFlow error codes -> messages for mini-program users (Chinese first, English in the README).

/** @type {Record<string, string>} */
const MESSAGES = {
  UNAUTHENTICATED: "API 密钥缺失或无效，请在设置中填写正确的密钥",
  RATE_LIMITED: "请求过于频繁，请稍后再试",
  INVALID_IMAGE: "图片无法识别，请使用 JPG、PNG、WebP 或 BMP 照片",
  IMAGE_TOO_LARGE: "图片太大，请换一张较小的照片",
  NO_FACE: "未检测到人脸，请正对镜头、保证光线充足",
  TOO_MANY_FACES: "检测到多张人脸，请确保画面中只有一个人",
  LOW_QUALITY: "人脸质量不佳（模糊、太暗、太小或角度过大），请重新拍摄",
  GROUP_NOT_FOUND: "人脸库不存在，请先注册",
  USER_NOT_FOUND: "该用户尚未注册人脸",
  // Not a server code: registration found the user id taken by another person (utils/flows.js).
  USER_TAKEN: "该用户名已被其他人使用，请换一个用户名",
  FACE_NOT_FOUND: "该人脸不存在（可能已被删除）",
  ALREADY_EXISTS: "已存在",
  SESSION_NOT_FOUND: "活体检测会话不存在或已使用，请重新开始",
  SESSION_EXPIRED: "活体检测会话已过期，请重新开始",
  SESSION_ALREADY_USED: "该活体检测会话已使用过，请重新开始",
  SERVICE_UNAVAILABLE: "服务暂时不可用，请稍后再试",
  DEADLINE_EXCEEDED: "服务响应超时，请重试",
  INVALID_ARGUMENT: "请求参数有误",
  NOT_FOUND: "服务器不支持该接口",
  INTERNAL: "服务器内部错误",
  NETWORK: "无法连接服务器，请检查网络和服务器地址（需在小程序后台配置 request 与 uploadFile 合法域名）",
  BAD_RESPONSE: "服务器返回了无法解析的内容",
  // Not a server code: the camera component's takePhoto failed (the page adds WeChat's errMsg).
  CAMERA: "拍照失败，请确认已允许使用摄像头后重试",
};

class FaceflowError extends Error {
  /**
   * @param {string} code the contract's stable code (NO_FACE, ...), or NETWORK, BAD_RESPONSE, HTTP_<status>
   * @param {string} [message]
   * @param {number} [statusCode] 0 when no response came
   * @param {string} [requestId]
   * @param {number} [retryAfter] seconds the server asked to wait (its Retry-After), 0 if none
   */
  constructor(code, message, statusCode, requestId, retryAfter) {
    super(message || code);
    this.name = "FaceflowError";
    this.code = code;
    this.statusCode = statusCode || 0;
    this.requestId = requestId || "";
    this.retryAfter = retryAfter || 0;
  }
}

/** Codes whose own message says too little: the server's words (which name the field or the
 * rule, in English) are shown after ours. */
const WITH_DETAIL = new Set(["INVALID_ARGUMENT"]);

/** A message to show in wx.showModal / wx.showToast (with the wait the server asked for).
 * @param {{ code?: string, message?: string, retryAfter?: number } | null | undefined} error */
function describe(error) {
  if (!error || !error.code) return (error && error.message) || "未知错误";
  const known = MESSAGES[error.code];
  const detail = (!known || WITH_DETAIL.has(error.code)) && error.message && error.message !== error.code
    ? `：${error.message}` : "";
  const text = `${known || "请求失败"}${detail}（${error.code}）`;
  return error.retryAfter && error.retryAfter > 0 ? `${text}，请 ${error.retryAfter} 秒后再试` : text;
}

module.exports = { MESSAGES, FaceflowError, describe };
