// Drawing results over the photo: boxes, 5 landmarks, the 468-point mesh and labels.
import { has, LocalizedError, t } from "./i18n.js";

export function loadImage(file) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new LocalizedError("picker.unreadable"));
    image.src = URL.createObjectURL(file);
  });
}

/** Draw image and faces on canvas; label(face) gives the text shown above each box. */
export function drawFaces(canvas, image, faces, label) {
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const ctx = canvas.getContext("2d");
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

/** A short text of the attributes present on a face (age, gender, emotion, pose, quality). */
export function attributeText(face) {
  const parts = [];
  const pick = (value, ...keys) => {
    if (value === null || value === undefined) return null;
    if (typeof value !== "object") return value;
    for (const key of keys) if (value[key] !== undefined) return value[key];
    return null;
  };
  const age = pick(face.age, "value", "years", "age");
  if (age !== null) parts.push(t("attr.age", { age: typeof age === "number" ? Math.round(age) : age }));
  const gender = pick(face.gender, "value", "label", "gender");
  if (gender !== null) parts.push(valueText(gender));
  const emotion = pick(face.emotion, "dominant", "value", "label", "emotion");
  if (emotion !== null) parts.push(valueText(emotion));
  const pose = face.pose;
  if (pose && typeof pose === "object" && pose.yaw !== undefined) parts.push(t("attr.yaw", { yaw: Math.round(pose.yaw) }));
  const quality = pick(face.quality, "score", "value");
  if (quality !== null) parts.push(t("attr.quality", { quality: typeof quality === "number" ? quality.toFixed(2) : quality }));
  return parts.join(t("sep"));
}

/** A label the server returns (female, happy, ...) in the page's language; unknown ones as sent. */
function valueText(value) {
  const key = `value.${String(value).toLowerCase()}`;
  return has(key) ? t(key) : String(value);
}
