// @ts-check
// Drawing results over the photo: boxes, 5 landmarks, the 468-point mesh and labels.
import { has, LocalizedError, t } from "./i18n.js";

/** @typedef {import("./api.js").Schemas} Schemas */
/** What is drawn of a face the API returned (detect, search; only detect sends a mesh).
 * @typedef {Pick<Schemas["DetectedFaceOut"], "box" | "landmarks" | "mesh">} DrawnFace */
/** @typedef {Schemas["DetectedFaceOut"]} DetectedFace */

/** @param {Blob} file @returns {Promise<HTMLImageElement>} */
export function loadImage(file) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new LocalizedError("picker.unreadable"));
    image.src = URL.createObjectURL(file);
  });
}

/** Draw image and faces on canvas; label(face) gives the text shown above each box.
 * @template {DrawnFace} F
 * @param {HTMLCanvasElement} canvas
 * @param {HTMLImageElement} image
 * @param {F[]} faces
 * @param {(face: F) => string} label */
export function drawFaces(canvas, image, faces, label) {
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.drawImage(image, 0, 0);
  const scale = Math.max(1, image.naturalWidth / 640);
  ctx.lineWidth = 2 * scale;
  ctx.font = `${13 * scale}px system-ui, sans-serif`;
  for (const face of faces) {
    const box = face.box;
    ctx.strokeStyle = "#22c55e";
    ctx.strokeRect(box.x, box.y, box.width, box.height);
    if (face.mesh) {
      ctx.fillStyle = "rgba(56, 189, 248, 0.8)";
      const dot = 1.6 * scale;
      for (const p of face.mesh) ctx.fillRect(p[0] - dot / 2, p[1] - dot / 2, dot, dot);
    }
    if (face.landmarks) {
      ctx.fillStyle = "#ef4444";
      for (const point of Object.values(face.landmarks)) {
        ctx.beginPath();
        ctx.arc(point[0], point[1], 2.5 * scale, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    const text = label(face);
    if (text) {
      const width = ctx.measureText(text).width + 8 * scale;
      const top = Math.max(0, box.y - 18 * scale);
      ctx.fillStyle = "rgba(17, 24, 39, 0.75)";
      ctx.fillRect(box.x, top, width, 18 * scale);
      ctx.fillStyle = "#fff";
      ctx.fillText(text, box.x + 4 * scale, top + 13 * scale);
    }
  }
}

/** A short text of the attributes present on a face (age, gender, emotion, pose, quality).
 * @param {DetectedFace} face */
export function attributeText(face) {
  /** @type {string[]} */
  const parts = [];
  /** The attribute's field `key`, or null when the face has no such attribute.
   * @template {object} A @template {keyof A} K
   * @param {A | null | undefined} value @param {K} key @returns {A[K] | null} */
  const pick = (value, key) => (value === null || value === undefined || value[key] === undefined ? null : value[key]);
  const age = pick(face.age, "value");
  if (age !== null) parts.push(t("attr.age", { age: Math.round(age) }));
  const gender = pick(face.gender, "label");
  if (gender !== null) parts.push(valueText(gender));
  const emotion = pick(face.emotion, "dominant");
  if (emotion !== null) parts.push(valueText(emotion));
  const yaw = pick(face.pose, "yaw");
  if (yaw !== null) parts.push(t("attr.yaw", { yaw: Math.round(yaw) }));
  const quality = pick(face.quality, "score");
  if (quality !== null) parts.push(t("attr.quality", { quality: quality.toFixed(2) }));
  return parts.join(t("sep"));
}

/** A label the server returns (female, happy, ...) in the page's language; unknown ones as sent.
 * @param {string} value */
function valueText(value) {
  const key = `value.${String(value).toLowerCase()}`;
  return has(key) ? t(key) : String(value);
}
