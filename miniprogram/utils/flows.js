// @ts-check
// The mini-program's face flows on top of the API module, kept free of page code so that they
// are tested with node against the real gateway.

/** @typedef {ReturnType<typeof import("./api").createApi>} Api */
/** @typedef {import("./api").Schemas} Schemas */

const { FaceflowError } = require("./errors");

/** Face login, first time: enroll the user's face into the app's group. Enrolling adds a face
 * to a user that exists, so a user id that is taken only takes a face of that same person (the
 * photo is verified against the user first); anyone else gets USER_TAKEN: typing someone's name
 * must not add a stranger's face to their account, or the stranger would log in as them.
 * @param {Api} api @param {string} groupId @param {string} userId @param {string} filePath
 * @param {string} [userInfo] */
async function registerFace(api, groupId, userId, filePath, userInfo) {
  await api.ensureGroup(groupId);
  if (await userExists(api, groupId, userId)) {
    const identity = await checkIdentity(api, groupId, userId, filePath);
    if (!identity.samePerson) {
      throw new FaceflowError("USER_TAKEN", `the user id ${userId} is taken by another person`, 409);
    }
  }
  return api.enroll(groupId, userId, filePath, { userInfo, qualityControl: "LOW" });
}

/** Whether the group has a user of that id.
 * @param {Api} api @param {string} groupId @param {string} userId */
async function userExists(api, groupId, userId) {
  try {
    await api.getUser(groupId, userId);
    return true;
  } catch (error) {
    if (error instanceof FaceflowError && error.code === "USER_NOT_FOUND") return false;
    throw error;
  }
}

/** Face login: the best match of the photo's main face, or null when nobody matches.
 * @param {Api} api @param {string} groupId @param {string} filePath
 * @returns {Promise<Schemas["MatchOut"] | null>} */
async function loginByFace(api, groupId, filePath) {
  const result = await api.search(filePath, [groupId], { topK: 1 });
  const face = result.faces[0];
  if (!face || face.matches.length === 0) return null;
  return face.matches[0];
}

/** Identity check: is this the enrolled user?
 * @param {Api} api @param {string} groupId @param {string} userId @param {string} filePath */
async function checkIdentity(api, groupId, userId, filePath) {
  const result = await api.verifyUser(filePath, groupId, userId);
  return { samePerson: result.same_person, score: result.score, thresholds: result.thresholds };
}

/** @typedef {Pick<Schemas["DetectedFaceOut"], "age" | "gender" | "emotion" | "pose" | "quality">} Attributes */

/** Readable attributes of the main face (whatever the server returned for the fields).
 * @param {Api} api @param {string} filePath
 * @returns {Promise<Attributes | null>} */
async function attributesOf(api, filePath) {
  /** @type {(keyof Attributes)[]} */
  const fields = ["age", "gender", "emotion", "pose", "quality"];
  const result = await api.detect(filePath, { fields, maxFaces: 1 });
  const face = result.faces[0];
  if (!face) return null;
  /** @type {Attributes} */
  const out = {};
  fields.forEach(/** @template {keyof Attributes} K @param {K} field */ (field) => {
    if (face[field] !== undefined && face[field] !== null) out[field] = face[field];
  });
  return out;
}

/** @type {Record<string, string>} */
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

/** @param {string} action */
function promptFor(action) {
  return PROMPTS[action] || action;
}

module.exports = { registerFace, loginByFace, checkIdentity, attributesOf, promptFor, PROMPTS };
