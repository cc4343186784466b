// The mini-program's face flows on top of the API module, kept free of page code so that they
// are tested with node against the real gateway.

/** Face login, first time: enroll the user's face into the app's group. */
async function registerFace(api, groupId, userId, filePath, userInfo) {
  await api.ensureGroup(groupId);
  return api.enroll(groupId, userId, filePath, { userInfo, qualityControl: "LOW" });
}

/** Face login: the best match of the photo's main face, or null when nobody matches. */
async function loginByFace(api, groupId, filePath) {
  const result = await api.search(filePath, [groupId], { topK: 1 });
  const face = result.faces[0];
  if (!face || face.matches.length === 0) return null;
  return face.matches[0];
}

/** Identity check: is this the enrolled user? */
async function checkIdentity(api, groupId, userId, filePath) {
  const result = await api.verifyUser(filePath, groupId, userId);
  return { samePerson: result.same_person, score: result.score, thresholds: result.thresholds };
}

/** Readable attributes of the main face (whatever the server returned for the fields). */
async function attributesOf(api, filePath) {
  const fields = ["age", "gender", "emotion", "pose", "quality"];
  const result = await api.detect(filePath, { fields, maxFaces: 1 });
  const face = result.faces[0];
  if (!face) return null;
  const out = {};
  fields.forEach((field) => { if (face[field] !== undefined && face[field] !== null) out[field] = face[field]; });
  return out;
}

const PROMPTS = {
  blink: "请眨眨眼",
  turn_left: "请向您的左侧转头",
  turn_right: "请向您的右侧转头",
  nod: "请点点头",
  shake_head: "请摇摇头",
  open_mouth: "请张张嘴",
  smile: "请微笑",
  look_up: "请抬头",
  look_down: "请低头",
};

function promptFor(action) {
  return PROMPTS[action] || action;
}

module.exports = { registerFace, loginByFace, checkIdentity, attributesOf, promptFor, PROMPTS };
