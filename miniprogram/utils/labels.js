// @ts-check
// What the API returns, in Chinese for the pages: attribute labels and values (attributes page)
// and the reasons of a liveness verdict (liveness page). The wording follows the web demo's
// Chinese page (gateway/static/js/i18n.js: value.*, attr.*, reason.*). Unknown labels and
// reason codes are shown as the server sent them.
const { promptFor } = require("./flows");

/** @typedef {import("./api").Schemas} Schemas */

/** Labels the attributes service returns: gender (GENDER_LABELS), emotion (the 7 FER classes,
 * EMOTION_LABELS) and the landmarks a head pose came from (pose.source).
 * @type {Record<string, string>} */
const VALUES = {
  female: "女",
  male: "男",
  angry: "生气",
  disgust: "厌恶",
  fear: "害怕",
  happy: "开心",
  sad: "难过",
  surprise: "惊讶",
  neutral: "平静",
  mesh: "按面部网格估算",
  landmarks5: "按 5 个关键点估算",
};

/** A label of the server (female, happy, ...) in Chinese; unknown ones as sent.
 * @param {unknown} label */
function valueText(label) {
  const key = String(label).toLowerCase();
  return Object.prototype.hasOwnProperty.call(VALUES, key) ? VALUES[key] : String(label);
}

/** A 0-1 probability or score as a whole percentage ("97%").
 * @param {number} value */
function percent(value) {
  return `${Math.round(Number(value) * 100)}%`;
}

/** @param {number} degrees */
function angle(degrees) {
  return `${Math.round(Number(degrees))}°`;
}

/** @param {unknown} value */
const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

/** What the attributes page shows for one attribute of the detect response.
 * @param {string} name age, gender, emotion, pose or quality
 * @param {any} value the attribute's object (AgeOut, GenderOut, ...) */
function attributeText(name, value) {
  if (value === null || typeof value !== "object") return String(value);
  if (name === "age" && isNumber(value.value)) {
    const range = Array.isArray(value.range) && value.range.length === 2 && value.range.every(isNumber)
      ? `（${Math.round(value.range[0])}–${Math.round(value.range[1])} 岁）` : "";
    return `${Math.round(value.value)} 岁${range}`;
  }
  if (name === "gender" && value.label !== undefined) {
    return valueText(value.label) + (isNumber(value.probability) ? `（${percent(value.probability)}）` : "");
  }
  if (name === "emotion" && value.dominant !== undefined) {
    const p = value.probabilities && value.probabilities[value.dominant];
    return valueText(value.dominant) + (isNumber(p) ? `（${percent(p)}）` : "");
  }
  if (name === "pose" && isNumber(value.yaw)) {
    const angles = [["偏航角", value.yaw], ["俯仰角", value.pitch], ["翻滚角", value.roll]]
      .filter(([, v]) => isNumber(v)).map(([label, v]) => `${label} ${angle(v)}`).join("，");
    return angles + (value.source ? `（${valueText(value.source)}）` : "");
  }
  if (name === "quality" && isNumber(value.score)) return percent(value.score);
  return Object.keys(value).map((key) => `${key}: ${isNumber(value[key]) ? Math.round(value[key] * 100) / 100 : JSON.stringify(value[key])}`).join("，");
}

/** Frame indices as the liveness service lists them ("3, 4, 9 (+2 more)"), in Chinese.
 * @param {string} detail */
function framesText(detail) {
  const [, list, more] = /^(?:frames\s*)?(.*?)(?:\s*\(\+(\d+) more\))?$/.exec(detail) || [];
  const shown = (list || "").split(/\s*,\s*/);
  if (!shown.every((index) => /^\d+$/.test(index))) return null;
  return more ? `第 ${shown.join("、")} 帧等 ${shown.length + Number(more)} 帧` : `第 ${shown.join("、")} 帧`;
}

/** The reason codes of services/liveness/verdict.py, each with its detail in Chinese (null:
 * a detail this does not understand, shown as sent).
 * @type {Record<string, (detail: string) => string | null>} */
const REASONS = {
  NO_FACE_IN_FRAMES(detail) {
    const counts = /^(\d+) of (\d+)/.exec(detail);
    return counts ? `${counts[2]} 帧中有 ${counts[1]} 帧没有人脸` : null;
  },
  MULTIPLE_FACES(detail) {
    const frames = framesText(detail);
    return frames ? `${frames}中有不止一张人脸` : null;
  },
  FACE_CHANGED(detail) {
    const frames = framesText(detail);
    return frames ? `${frames}中换了一张脸` : null;
  },
  ACTION_NOT_SEEN(detail) {
    return detail ? `没有看到动作：${promptFor(detail)}` : null;
  },
  SPOOF_SUSPECTED() {
    return "像是照片或屏幕，而不是真人";
  },
};

/** One reason of a liveness verdict ("CODE" or "CODE: detail") in Chinese, with its code;
 * unknown codes and details as sent.
 * @param {string} reason */
function reasonText(reason) {
  const [, code, detail = ""] = /^([A-Z_]+)(?::\s*(.*))?$/.exec(String(reason)) || [];
  const text = code && Object.prototype.hasOwnProperty.call(REASONS, code) ? REASONS[code](detail) : null;
  return text ? `${text}（${code}）` : String(reason);
}

module.exports = { VALUES, REASONS, valueText, percent, attributeText, reasonText };
