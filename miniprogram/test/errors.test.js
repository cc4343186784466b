// utils/errors.js's describe(): our Chinese message with the code; for INVALID_ARGUMENT and
// codes we do not know, the server's own words too (they name the field or the rule).
const assert = require("node:assert/strict");
const { test } = require("node:test");

const { describe, FaceflowError, MESSAGES } = require("../utils/errors");

test("a known code: our message and the code", () => {
  assert.equal(describe(new FaceflowError("NO_FACE", "no face was found in the image", 400)), `${MESSAGES.NO_FACE}（NO_FACE）`);
});

test("INVALID_ARGUMENT: the server's words say which parameter and why", () => {
  const error = new FaceflowError("INVALID_ARGUMENT", "'user_id' must be 1-128 characters: letters, digits, '_', '-', '.', '@'", 400);
  assert.equal(describe(error), `${MESSAGES.INVALID_ARGUMENT}：'user_id' must be 1-128 characters: letters, digits, '_', '-', '.', '@'（INVALID_ARGUMENT）`);
});

test("a code this version does not know: the server's words", () => {
  assert.equal(describe(new FaceflowError("QUOTA_EXCEEDED", "the tenant's quota is used up", 403)), "请求失败：the tenant's quota is used up（QUOTA_EXCEEDED）");
  assert.equal(describe(new FaceflowError("HTTP_418")), "请求失败（HTTP_418）");
});

test("a 429 adds the wait", () => {
  assert.equal(describe(new FaceflowError("RATE_LIMITED", "slow down", 429, "", 7)), `${MESSAGES.RATE_LIMITED}（RATE_LIMITED），请 7 秒后再试`);
});
