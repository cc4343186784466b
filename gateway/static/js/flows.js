// The photo flows: detect, enroll into a group, search a group, verify two photos.
import { api, ApiError } from "./api.js";
import { attributeText, drawFaces, loadImage } from "./draw.js";
import { photo } from "./picker.js";
import { $, busy, fail, list, raw, status, value } from "./ui.js";

function need(picker) {
  const file = photo(picker);
  if (!file) throw new Error("Choose a photo or take one with the camera first.");
  return file;
}

function plural(count, word) { return `${count} ${word}${count === 1 ? "" : "s"}`; }

export async function detect() {
  try {
    const file = need("detect");
    const fields = [...document.querySelectorAll("input[name=detect-field]:checked")].map((box) => box.value);
    busy("detect", "Detecting…");
    const result = await api.detect(file, fields);
    drawFaces($("detect-canvas"), await loadImage(file), result.faces,
      (face) => [face.score.toFixed(2), attributeText(face)].filter(Boolean).join(" · "));
    list("detect", result.faces.map((face, index) =>
      `Face ${index + 1}: ${Math.round(face.box.width)}×${Math.round(face.box.height)} px, score ${face.score.toFixed(3)}` +
      (attributeText(face) ? `, ${attributeText(face)}` : "") + (face.mesh ? `, mesh ${face.mesh.length} points` : "")));
    raw("detect", result);
    const count = result.faces.length;
    status("detect", count === 0 ? "No face found in this photo." : `${plural(count, "face")} found in ${result.took_ms} ms.`, "ok");
  } catch (error) {
    fail("detect", error);
  }
}

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
    if (!groupId || !userId) throw new Error("Fill in the group and the person's id.");
    busy("enroll", "Enrolling…");
    await ensureGroup(groupId);
    const result = await api.enroll(groupId, userId, file, value("enroll-info"), value("enroll-quality"));
    raw("enroll", result);
    await refreshUsers(groupId);
    status("enroll", `Enrolled ${result.user_id} into ${result.group_id} (face ${result.face_token}).`, "ok");
  } catch (error) {
    fail("enroll", error);
  }
}

async function refreshUsers(groupId) {
  const body = await api.listUsers(groupId);
  const users = body.users || [];
  list("enroll", users.map((user) => {
    const faces = user.faces ? user.faces.length : 0;
    return `${user.user_id}${user.user_info ? ` (${user.user_info})` : ""} — ${plural(faces, "face")}`;
  }));
}

export async function search() {
  try {
    const file = need("search");
    const groups = value("search-groups");
    if (!groups) throw new Error("Fill in the group(s) to search.");
    busy("search", "Searching…");
    const result = await api.search(file, groups);
    const best = (face) => face.matches[0];
    drawFaces($("search-canvas"), await loadImage(file), result.faces,
      (face) => (best(face) ? `${best(face).user_id} ${best(face).score.toFixed(1)}` : "unknown"));
    list("search", result.faces.map((face, index) => `Face ${index + 1}: ` + (face.matches.length
      ? face.matches.map((m) => `${m.user_id}${m.user_info ? ` (${m.user_info})` : ""} in ${m.group_id}: ${m.score.toFixed(1)}`).join("; ")
      : "no match above the threshold")));
    raw("search", result);
    const known = result.faces.filter((face) => face.matches.length).length;
    status("search", result.faces.length === 0 ? "No face found in this photo."
      : `${plural(result.faces.length, "face")}, ${known} recognised (threshold ${result.threshold.toFixed(1)}: `
        + `at most ${result.fpir} of strangers matched among ${plural(result.gallery_size, "user")}).`, "ok");
  } catch (error) {
    fail("search", error);
  }
}

export async function verify() {
  try {
    const a = need("verify-a");
    const b = need("verify-b");
    busy("verify", "Comparing…");
    const result = await api.verify(a, b);
    raw("verify", result);
    const thresholds = Object.entries(result.thresholds || {}).map(([far, score]) => `FAR ${far}: ${score}`).join(", ");
    $("verify-verdict").textContent = result.same_person ? "Same person" : "Different people";
    $("verify-verdict").className = result.same_person ? "verdict yes" : "verdict no";
    status("verify", `Score ${result.score.toFixed(1)} / 100 (cosine ${result.similarity.toFixed(3)}). Thresholds: ${thresholds}.`, "ok");
  } catch (error) {
    $("verify-verdict").textContent = "";
    fail("verify", error);
  }
}
