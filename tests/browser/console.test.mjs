// The gallery console of the web demo in Debian's headless Chromium (playwright-core), against
// the real stack started by test_console.py: the group it made (one face of "aaron" enrolled
// before the demo tenant turned thumbnails on), a drop of loose photos and a chosen folder with
// one subfolder per person (progress bar, per-file errors), paging, thumbnails, deleting a face,
// a person and the group with the confirmation dismissed and accepted, and the screenshots in
// both languages. Environment: FACEFLOW_URL, FACEFLOW_API_KEY, FACEFLOW_GROUP, FACEFLOW_PHOTO,
// FACEFLOW_NO_FACE, FACEFLOW_FOLDER, FACEFLOW_ARTIFACTS; FACEFLOW_SCREENSHOT_DIR (optional)
// also saves docs/img/console-zh.png and console-en.png there.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/browser/test_console.py`);
  return value;
}

const URL = required("FACEFLOW_URL");
const KEY = required("FACEFLOW_API_KEY");
const GROUP = required("FACEFLOW_GROUP");
const PHOTO = required("FACEFLOW_PHOTO");
const NO_FACE = required("FACEFLOW_NO_FACE");
const FOLDER = required("FACEFLOW_FOLDER");
const ARTIFACTS = process.env.FACEFLOW_ARTIFACTS || mkdtempSync(join(tmpdir(), "faceflow-artifacts-"));
const SCREENSHOTS = process.env.FACEFLOW_SCREENSHOT_DIR || "";

let browser;
let page;
const pageErrors = [];

/** Wait for the console's status line to settle (ok, warn or error) and return it. */
async function settled(timeout = 120000) {
  await page.waitForFunction(() => /\b(ok|error|warn)\b/.test(document.getElementById("console-status").className),
    undefined, { timeout });
  const status = page.locator("#console-status");
  return { text: await status.textContent(), cls: await status.getAttribute("class") };
}

async function resetStatus() {
  await page.evaluate(() => { document.getElementById("console-status").className = "status"; });
}

const users = () => page.locator("#console-users li.user").evaluateAll((items) => items.map((item) => item.dataset.user));
const faceCount = (user) => page.locator(`li.user[data-user="${user}"] li.face`).count();

/** Click `selector`, answer the confirmation (accept or dismiss), return the dialog's text. */
async function confirmClick(selector, accept) {
  const dialog = new Promise((resolve) => {
    page.once("dialog", async (shown) => {
      assert.equal(shown.type(), "confirm");
      const message = shown.message();
      if (accept) await shown.accept(); else await shown.dismiss();
      resolve(message);
    });
  });
  await resetStatus();
  await page.click(selector);
  const message = await dialog;
  return { message, status: await settled() };
}

/** Status texts as they change (the progress messages of an enrollment). */
async function recordStatus() {
  await page.evaluate(() => {
    window.statusSeen = [];
    const element = document.getElementById("console-status");
    new MutationObserver(() => window.statusSeen.push(element.textContent))
      .observe(element, { childList: true, characterData: true, subtree: true });
  });
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1180, height: 1000 } });
  page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${URL}/`);
  await page.waitForSelector("body[data-ready=true]");
  await page.fill("#api-key", KEY);
});

after(async () => {
  if (page) await page.screenshot({ path: join(ARTIFACTS, "console-last.png"), fullPage: true }).catch(() => {});
  if (browser) await browser.close();
});

describe("gallery console", () => {
  test("lists the groups and the selected group's people, without a thumbnail where none was kept", async () => {
    await page.click('nav button[data-tab="console"]');
    await page.locator("#panel-console").waitFor({ state: "visible" });
    const row = page.locator(`#console-groups li[data-group="${GROUP}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /1 user, 1 face/);
    await page.locator('li.user[data-user="aaron"]').waitFor();
    assert.deepEqual(await users(), ["aaron"]);
    assert.equal(await page.locator('li.user[data-user="aaron"] .thumb.none').textContent(), "no thumbnail");
    assert.equal(await page.textContent("#console-page"), "Page 1 of 1 · 1 user");
  });

  test("drag and drop: one enroll per photo, progress bar, per-file errors listed, not fatal", async () => {
    const jpeg = readFileSync(PHOTO).toString("base64");
    const blank = readFileSync(NO_FACE).toString("base64");
    const transfer = await page.evaluateHandle(({ jpeg, blank }) => {
      const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      for (const name of ["u01", "u02", "u03", "u04", "u05"]) {
        data.items.add(new File([bytes(jpeg)], `${name}.jpg`, { type: "image/jpeg" }));
      }
      data.items.add(new File([bytes(blank)], "no-face.jpg", { type: "image/jpeg" }));
      data.items.add(new File(["notes"], "notes.txt", { type: "text/plain" }));
      return data;
    }, { jpeg, blank });
    await recordStatus();
    await resetStatus();
    await page.dispatchEvent("#console-drop", "dragover", { dataTransfer: transfer });
    assert.match(await page.getAttribute("#console-drop", "class"), /over/);
    await page.dispatchEvent("#console-drop", "drop", { dataTransfer: transfer });
    const status = await settled();
    assert.match(status.cls, /warn/);
    assert.equal(status.text, `Enrolled 5 of 6 photos into ${GROUP}; 1 failed, 1 other files skipped.`);
    const seen = await page.evaluate(() => window.statusSeen);
    for (let n = 1; n <= 6; n += 1) assert.ok(seen.includes(`Enrolling photo ${n} of 6 into ${GROUP}…`), seen.join("\n"));
    assert.deepEqual(await page.evaluate(() => {
      const bar = document.getElementById("console-progress");
      return [bar.hidden, bar.max, bar.value];
    }), [false, 6, 6]);
    const errors = page.locator("#console-errors li");
    assert.equal(await errors.count(), 1);
    assert.equal(await errors.first().getAttribute("data-code"), "NO_FACE");
    assert.match(await errors.first().textContent(), /^no-face\.jpg \(person no-face\): No face was found/);
  });

  test("a chosen folder: one person per subfolder, loose photos by file name", async () => {
    await resetStatus();
    await page.setInputFiles("#console-folder", FOLDER);
    const status = await settled();
    assert.match(status.cls, /\bok\b/);
    assert.equal(status.text, `Enrolled 4 of 4 photos into ${GROUP}; 0 failed, 0 other files skipped.`);
    assert.equal(await page.locator("#console-errors li").count(), 0);
    await page.waitForFunction(() => document.querySelectorAll("#console-users li.user").length === 9);
    assert.equal(await faceCount("alice"), 2);
    assert.equal(await faceCount("bob"), 1);
    assert.equal(await faceCount("carol"), 1);
  });

  test("thumbnails are shown for faces enrolled while the tenant keeps them", async () => {
    await page.waitForFunction(() => {
      const images = [...document.querySelectorAll('li.user[data-user="alice"] img.thumb')];
      return images.length === 2 && images.every((image) => image.complete && image.naturalWidth === 112);
    });
    assert.equal(await page.locator('li.user[data-user="aaron"] img.thumb').count(), 0);
    assert.equal(await page.locator("#console-users img.thumb").count(), 9); // all but aaron's
  });

  test("users are paged", async () => {
    await page.selectOption("#console-page-size", "5");
    await page.waitForFunction(() => document.querySelectorAll("#console-users li.user").length === 5);
    assert.deepEqual(await users(), ["aaron", "alice", "bob", "carol", "u01"]);
    assert.equal(await page.textContent("#console-page"), "Page 1 of 2 · 9 users");
    assert.equal(await page.isDisabled("#console-prev"), true);
    await page.click("#console-next");
    await page.waitForFunction(() => document.getElementById("console-page").textContent.startsWith("Page 2"));
    assert.deepEqual(await users(), ["u02", "u03", "u04", "u05"]);
    assert.equal(await page.isDisabled("#console-next"), true);
    await page.click("#console-prev");
    await page.waitForFunction(() => document.getElementById("console-page").textContent.startsWith("Page 1"));
    assert.deepEqual(await users(), ["aaron", "alice", "bob", "carol", "u01"]);
  });

  test("a page asked for later wins over a slow earlier one; a double click creates a group once", async () => {
    const other = `${GROUP}-other`;
    await page.fill("#console-new-group", other);
    await resetStatus();
    await page.dblclick("#console-create");
    const created = await settled();
    assert.match(created.cls, /ok/, created.text); // the second click got ALREADY_EXISTS
    await page.waitForSelector(`li[data-group="${other}"]`);
    // The first group's people are answered late; the other (empty) group is asked for meanwhile.
    await page.route(`**/api/v1/groups/${GROUP}/users?**`, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.continue();
    });
    try {
      await page.click(`li[data-group="${GROUP}"] button.link`);
      await page.click(`li[data-group="${other}"] button.link`);
      await page.waitForTimeout(2500);
      assert.equal(await page.locator("#console-users li.user").count(), 0, "the other group's (no one)");
    } finally {
      await page.unroute(`**/api/v1/groups/${GROUP}/users?**`);
    }
    await fetch(`${URL}/api/v1/groups/${other}`, { method: "DELETE", headers: { "x-api-key": KEY } });
    await page.click("#console-refresh");
    await page.waitForFunction((name) => !document.querySelector(`li[data-group="${name}"]`), other);
    await page.click(`li[data-group="${GROUP}"] button.link`);
    await page.waitForFunction(() => document.querySelectorAll("#console-users li.user").length > 0);
  });

  test("screenshots in Chinese and English", async () => {
    for (const lang of ["zh", "en"]) {
      await page.click(`#lang-${lang}`);
      const heading = await page.textContent("#panel-console h2");
      assert.equal(heading, lang === "zh" ? "人脸库管理" : "Gallery console");
      assert.equal(await page.textContent("#console-page"),
        lang === "zh" ? "第 1 / 2 页 · 9 个用户" : "Page 1 of 2 · 9 users");
      await page.locator("#console-users img.thumb").first().waitFor();
      const shot = await page.screenshot({ path: join(ARTIFACTS, `console-${lang}.png`) });
      assert.ok(shot.length > 20000);
      if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `console-${lang}.png`) });
    }
  });

  test("deleting a face asks first: dismissed keeps it, accepted deletes it", async () => {
    const button = 'li.user[data-user="alice"] li.face:first-child button[data-delete-face]';
    const kept = await confirmClick(button, false);
    assert.equal(kept.message, "Delete this face of alice? This cannot be undone.");
    assert.equal(kept.status.text, "Nothing was deleted.");
    assert.equal(await faceCount("alice"), 2);
    const deleted = await confirmClick(button, true);
    assert.equal(deleted.status.text, "Deleted a face of alice.");
    await page.waitForFunction(() => document.querySelectorAll('li.user[data-user="alice"] li.face').length === 1);
  });

  test("deleting a person asks first", async () => {
    const button = 'button[data-delete-user="bob"]';
    const kept = await confirmClick(button, false);
    assert.equal(kept.message, "Delete bob and 1 face? This cannot be undone.");
    assert.ok((await users()).includes("bob"));
    const deleted = await confirmClick(button, true);
    assert.equal(deleted.status.text, "Deleted bob.");
    await page.waitForFunction(() => !document.querySelector('li.user[data-user="bob"]'));
    assert.equal(await page.textContent("#console-page"), "Page 1 of 2 · 8 users");
  });

  test("deleting the group asks first, then the gallery shows nothing of it", async () => {
    const button = `button[data-delete-group="${GROUP}"]`;
    const kept = await confirmClick(button, false);
    assert.equal(kept.message, `Delete the group ${GROUP} with its 8 users and all their faces? This cannot be undone.`);
    assert.equal(await page.locator(`#console-groups li[data-group="${GROUP}"]`).count(), 1);
    const deleted = await confirmClick(button, true);
    assert.equal(deleted.status.text, `Deleted the group ${GROUP}.`);
    await page.waitForFunction((group) => !document.querySelector(`#console-groups li[data-group="${group}"]`), GROUP);
    assert.equal(await page.textContent("#console-users"), "Choose or create a group.");
    const listed = await fetch(`${URL}/api/v1/groups`, { headers: { "x-api-key": KEY } }).then((r) => r.json());
    assert.ok(!listed.groups.some((group) => group.group_id === GROUP));
  });

  test("no script errors on the page", () => {
    assert.deepEqual(pageErrors, []);
  });
});
