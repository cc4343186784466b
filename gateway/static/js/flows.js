// @ts-check
// The photo flows: detect, enroll into a group, search a group, verify two photos. What they show
// is a function of the language (i18n.js), redrawn when the language is switched.
import { api, ApiError } from "./api.js";
import { attributeText, drawFaces, loadImage } from "./draw.js";
import { bind, LocalizedError, show, t } from "./i18n.js";
import { photo } from "./picker.js";
import { $, busy, fail, list, raw, status, value } from "./ui.js";

/** @param {string} picker @returns {File} */
function need(picker) {
  const file = photo(picker);
  if (!file) throw new LocalizedError("picker.needPhoto");
  return file;
}

/** @param {number} count */
const faces = (count) => t("n.faces", { count });
/** @param {string} text */
const paren = (text) => (text ? t("paren", { text }) : "");

/** Draw on canvas `id` now and again after a language switch (the labels are text).
 * @template {import("./draw.js").DrawnFace} F
 * @param {string} id @param {HTMLImageElement} image @param {F[]} found
 * @param {(face: F) => string} label */
function draw(id, image, found, label) {
  const canvas = /** @type {HTMLCanvasElement} */ ($(id));
  bind(canvas, () => drawFaces(canvas, image, found, label));
}

/** The latest detection asked for (a new photo or a click while one runs): only its answer
 * is shown, so an older, slower answer never replaces a newer one. */
let detectRun = 0;

export async function detect() {
  const run = ++detectRun;
  try {
    const file = need("detect");
    const boxes = /** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll("input[name=detect-field]:checked"));
    const fields = [...boxes].map((box) => box.value);
    busy("detect", () => t("detect.busy"));
    const result = await api.detect(file, fields);
    const image = await loadImage(file);
    if (run !== detectRun) return;
    draw("detect-canvas", image, result.faces,
      (face) => [face.score.toFixed(2), attributeText(face)].filter(Boolean).join(" · "));
    list("detect", () => result.faces.map((face, index) =>
      t("detect.row", { n: index + 1, width: Math.round(face.box.width), height: Math.round(face.box.height),
        score: face.score.toFixed(3) }) +
      [attributeText(face), face.mesh ? t("detect.meshPoints", { count: face.mesh.length }) : ""]
        .filter(Boolean).map((part) => t("sep") + part).join("")));
    raw("detect", result);
    const count = result.faces.length;
    status("detect", () => (count === 0 ? t("noFace") : t("detect.found", { faces: faces(count), ms: result.took_ms })), "ok");
  } catch (error) {
    if (run === detectRun) fail("detect", error);
  }
}

/** @param {string} groupId */
async function ensureGroup(groupId) {
  try {
    await api.createGroup(groupId);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "ALREADY_EXISTS")) throw error;
  }
}

export async function enroll() {
  try {
    const file = need("enroll");
    const groupId = value("enroll-group");
    const userId = value("enroll-user");
    if (!groupId || !userId) throw new LocalizedError("enroll.missing");
    busy("enroll", () => t("enroll.busy"));
    await ensureGroup(groupId);
    const result = await api.enroll(groupId, userId, file, value("enroll-info"), value("enroll-quality"));
    raw("enroll", result);
    // The enrollment is done whatever happens next: a list that cannot be refreshed now (a 429,
    // a network blip) must not turn it into an error the user would answer by enrolling again.
    await refreshUsers(groupId).catch(() => {});
    status("enroll", () => t("enroll.done", { user: result.user_id, group: result.group_id, face: result.face_token }), "ok");
  } catch (error) {
    fail("enroll", error);
  }
}

/** @param {string} groupId */
async function refreshUsers(groupId) {
  const body = await api.listUsers(groupId);
  const users = body.users || [];
  list("enroll", () => users.map((user) => t("enroll.userRow", {
    user: user.user_id, info: paren(user.user_info), faces: faces(user.faces ? user.faces.length : 0),
  })));
}

export async function search() {
  try {
    const file = need("search");
    const groups = value("search-groups");
    if (!groups) throw new LocalizedError("search.missing");
    busy("search", () => t("search.busy"));
    const result = await api.search(file, groups);
    /** @param {import("./api.js").Schemas["SearchFaceOut"]} face */
    const best = (face) => face.matches[0];
    draw("search-canvas", await loadImage(file), result.faces,
      (face) => (best(face) ? `${best(face).user_id} ${best(face).score.toFixed(1)}` : t("search.unknown")));
    list("search", () => result.faces.map((face, index) => t("search.row", {
      n: index + 1,
      matches: face.matches.length
        ? face.matches.map((m) => t("search.match", { user: m.user_id, info: paren(m.user_info), group: m.group_id,
          score: m.score.toFixed(1) })).join(t("search.matchSep"))
        : t("search.noMatch"),
    })));
    raw("search", result);
    const known = result.faces.filter((face) => face.matches.length).length;
    status("search", () => (result.faces.length === 0 ? t("noFace") : t("search.summary", {
      faces: faces(result.faces.length), known, threshold: result.threshold.toFixed(1), fpir: result.fpir,
      users: t("n.users", { count: result.gallery_size }),
    })), "ok");
  } catch (error) {
    fail("search", error);
  }
}

export async function verify() {
  try {
    const a = need("verify-a");
    const b = need("verify-b");
    busy("verify", () => t("verify.busy"));
    const result = await api.verify(a, b);
    raw("verify", result);
    const thresholds = () => Object.entries(result.thresholds || {})
      .map(([far, score]) => t("verify.threshold", { far, score })).join(t("sep"));
    show($("verify-verdict"), () => t(result.same_person ? "verify.same" : "verify.different"));
    $("verify-verdict").className = result.same_person ? "verdict yes" : "verdict no";
    status("verify", () => t("verify.summary", { score: result.score.toFixed(1), cosine: result.similarity.toFixed(3),
      thresholds: thresholds() }), "ok");
  } catch (error) {
    show($("verify-verdict"), "");
    fail("verify", error);
  }
}
