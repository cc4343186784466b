// The web demo's two languages (中文, English) in Debian's headless Chromium (playwright-core),
// against the real stack started by test_web_demo.py: the default follows the browser's locale,
// the switch relabels the page and is remembered, API errors are shown translated, nothing is
// left untranslated. Environment: FACEFLOW_URL, FACEFLOW_API_KEY, FACEFLOW_PHOTO,
// FACEFLOW_NOT_IMAGE, FACEFLOW_ARTIFACTS; FACEFLOW_SCREENSHOT_DIR (optional) also saves the
// docs screenshots there (web-demo-zh.png, web-demo-en.png).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/browser/test_web_demo.py`);
  return value;
}

const URL = required("FACEFLOW_URL");
const KEY = required("FACEFLOW_API_KEY");
const PHOTO = required("FACEFLOW_PHOTO");
const NOT_IMAGE = required("FACEFLOW_NOT_IMAGE");
const ARTIFACTS = process.env.FACEFLOW_ARTIFACTS || mkdtempSync(join(tmpdir(), "faceflow-artifacts-"));
const SCREENSHOTS = process.env.FACEFLOW_SCREENSHOT_DIR || "";

// Words that stay as they are in Chinese: names, protocol terms and the API's own values.
const KEPT = /FaceFlow|x-api-key|make run|API|JSON|ID|NONE|LOW|NORMAL|HIGH|alice|demo-group/g;

let browser;
const contexts = [];
const pageErrors = [];

/** A fresh browser context (own localStorage) in `locale`, with the demo page loaded. */
async function open(locale) {
  const context = await browser.newContext({ locale, viewport: { width: 1180, height: 1000 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${locale}: ${error.message}`));
  await load(page);
  return page;
}

async function load(page) {
  await page.goto(`${URL}/`);
  await page.waitForSelector("body[data-ready=true]");
  await page.waitForSelector("#server-status.ok");
}

const text = (page, selector) => page.locator(selector).first().textContent();

/** What the page shows in the given language: labels, headings, buttons, the API key's placeholder. */
async function assertLanguage(page, lang) {
  const zh = lang === "zh";
  assert.equal(await page.getAttribute("html", "lang"), zh ? "zh-CN" : "en");
  assert.equal(await page.title(), zh ? "FaceFlow 演示" : "FaceFlow demo");
  assert.equal(await text(page, 'nav button[data-tab="detect"]'), zh ? "检测" : "Detect");
  assert.equal(await text(page, 'nav button[data-tab="verify"]'), zh ? "比对" : "Verify");
  assert.equal(await text(page, "#panel-detect h2"), zh ? "人脸检测" : "Detect faces");
  assert.equal(await text(page, "#camera-start"), zh ? "打开摄像头" : "Start camera");
  assert.equal(await text(page, ".picker .button span"), zh ? "选择文件" : "Choose file");
  assert.equal(await page.getAttribute("#api-key", "placeholder"),
    zh ? "x-api-key（由 make run 打印）" : "x-api-key (printed by make run)");
  assert.match(await text(page, "#server-status"), zh ? /^就绪 · / : /^ready · /);
  assert.equal(await page.getAttribute(`#lang-${lang}`, "aria-pressed"), "true");
  assert.equal(await page.getAttribute(`#lang-${zh ? "en" : "zh"}`, "aria-pressed"), "false");
}

/** Every text node and placeholder / title / aria-label on the page, hidden tabs included. */
function pageTexts(page) {
  return page.evaluate(() => {
    const texts = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      // The switch names each language in itself; file names and raw JSON are data.
      if (node.parentElement.closest("script, style, pre, .file-name, [data-lang]")) continue;
      if (node.textContent.trim()) texts.push(node.textContent.trim());
    }
    for (const element of document.querySelectorAll("[placeholder], [title], [aria-label]")) {
      for (const name of ["placeholder", "title", "aria-label"]) {
        if (element.getAttribute(name)) texts.push(element.getAttribute(name));
      }
    }
    return texts;
  });
}

async function settled(page, name, timeout = 60000) {
  await page.waitForFunction((id) => /\b(ok|error|warn)\b/.test(document.getElementById(id).className),
    `${name}-status`, { timeout });
  const status = page.locator(`#${name}-status`);
  return { text: await status.textContent(), cls: await status.getAttribute("class"),
    code: await status.getAttribute("data-code"), title: await status.getAttribute("title") };
}

async function resetStatus(page, name) {
  await page.evaluate((id) => { document.getElementById(id).className = "status"; }, `${name}-status`);
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  if (browser) await browser.close();
});

describe("web demo languages", () => {
  test("the default language follows the browser's locale", async () => {
    for (const [locale, lang] of [["zh-CN", "zh"], ["en-US", "en"], ["zh-TW", "zh"], ["fr-FR", "en"]]) {
      const page = await open(locale);
      assert.equal(await page.evaluate(() => navigator.language), locale);
      await assertLanguage(page, lang);
      // Nothing is stored until the user picks: a later change of the browser's language applies.
      assert.equal(await page.evaluate(() => localStorage.getItem("faceflow-lang")), null);
    }
  });

  test("the switch relabels the page and is remembered after a reload", async () => {
    const page = await open("en-US");
    await assertLanguage(page, "en");
    await page.click("#lang-zh");
    await assertLanguage(page, "zh");
    assert.equal(await page.evaluate(() => localStorage.getItem("faceflow-lang")), "zh");
    await page.reload();
    await page.waitForSelector("#server-status.ok");
    await assertLanguage(page, "zh");
    await page.click('nav button[data-tab="enroll"]');
    assert.equal(await text(page, "#enroll-quality option[value=NORMAL]"), "中 (NORMAL)");
    assert.equal(await page.getAttribute("#enroll-user", "placeholder"), "例如 alice");
    await page.click("#lang-en");
    await assertLanguage(page, "en");
    assert.equal(await text(page, "#enroll-quality option[value=NORMAL]"), "NORMAL");
    await page.reload();
    await page.waitForSelector("#server-status.ok");
    await assertLanguage(page, "en");
  });

  test("every visible string is translated", async () => {
    const page = await open("zh-CN");
    const english = (await pageTexts(page)).filter((item) => /[A-Za-z]{2,}/.test(item.replace(KEPT, "")));
    assert.deepEqual(english, [], "left in English on the Chinese page");
    await page.click("#lang-en");
    const chinese = (await pageTexts(page)).filter((item) => /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/.test(item));
    assert.deepEqual(chinese, [], "left in Chinese on the English page");
    const tables = await page.evaluate(async () => (await import("/static/js/i18n.js")).STRINGS);
    assert.deepEqual(Object.keys(tables.zh).sort(), Object.keys(tables.en).sort(), "both languages have the same keys");
    const actions = await page.evaluate(async () => (await import("/static/js/liveness.js")).ACTIONS);
    for (const action of actions) assert.ok(`prompt.${action}` in tables.zh, `no Chinese prompt for ${action}`);
  });

  test("liveness reasons listing more than 5 frames are translated", async () => {
    const page = await open("zh-CN");
    // As services/liveness/verdict.py words them: 5 frames, then how many more.
    const reasons = ["MULTIPLE_FACES: frames 1, 2, 3, 4, 5 (+7 more)", "FACE_CHANGED: frames 3, 4, 5, 6, 7 (+1 more)",
      "MULTIPLE_FACES: frames 2, 9"];
    const shown = () => page.evaluate(async (items) => {
      const { reasonText } = await import("/static/js/liveness.js");
      return items.map((item) => reasonText(item));
    }, reasons);
    const zh = await shown();
    assert.deepEqual(zh, ["第 1, 2, 3, 4, 5 帧及另外 7 帧中有不止一张人脸（MULTIPLE_FACES）",
      "第 3, 4, 5, 6, 7 帧及另外 1 帧中换了一张脸（FACE_CHANGED）", "第 2, 9 帧中有不止一张人脸（MULTIPLE_FACES）"]);
    for (const item of zh) assert.doesNotMatch(item.replace(/（[A-Z_]+）$/, ""), /[A-Za-z]/, "English on the Chinese page");
    await page.click("#lang-en");
    assert.deepEqual(await shown(), ["More than one face in frames 1, 2, 3, 4, 5 (+7 more) (MULTIPLE_FACES)",
      "A different face in frames 3, 4, 5, 6, 7 (+1 more) (FACE_CHANGED)", "More than one face in frames 2, 9 (MULTIPLE_FACES)"]);
  });

  test("API errors are shown in Chinese, and follow a switch", async () => {
    const page = await open("zh-CN");
    await page.fill("#api-key", KEY);
    await page.setInputFiles('.picker[data-picker="detect"] input[type=file]', NOT_IMAGE);
    let result = await settled(page, "detect");
    assert.equal(result.code, "INVALID_IMAGE");
    assert.equal(result.text, "这个文件不是可读取的 JPEG、PNG、WebP 或 BMP 图片。（INVALID_IMAGE）");
    assert.match(result.title, /^服务器：.+ · 请求 \S+$/, "the server's own message is kept in the tooltip");

    await page.fill("#api-key", "not-a-key");
    await resetStatus(page, "detect");
    await page.click("#detect-run");
    result = await settled(page, "detect");
    assert.equal(result.code, "UNAUTHENTICATED");
    assert.match(result.text, /^API 密钥缺失或错误：/);

    await page.click("#lang-en");
    assert.match(await text(page, "#detect-status"), /^The API key is missing or wrong: .* \(UNAUTHENTICATED\)$/);
    await page.click("#lang-zh");
    assert.match(await text(page, "#detect-status"), /^API 密钥缺失或错误：.*（UNAUTHENTICATED）$/);

    // A code this page does not know: the server's message is shown.
    await page.route("**/api/v1/detect*", (route) => route.fulfill({
      status: 409, contentType: "application/json",
      body: JSON.stringify({ error: { code: "SOMETHING_NEW", message: "A newer server's reason", request_id: "r-1" } }),
    }));
    await page.fill("#api-key", KEY);
    await resetStatus(page, "detect");
    await page.click("#detect-run");
    result = await settled(page, "detect");
    assert.equal(result.code, "SOMETHING_NEW");
    assert.equal(result.text, "请求失败：A newer server's reason（SOMETHING_NEW）");
  });

  test("results in both languages, with screenshots", async () => {
    for (const [locale, lang] of [["zh-CN", "zh"], ["en-US", "en"]]) {
      const page = await open(locale);
      await page.fill("#api-key", KEY);
      const services = await page.evaluate(async () => Object.keys((await fetch("/readyz").then((r) => r.json())).services || {}));
      const fields = ["mesh", ...(services.includes("attributes") ? ["age", "gender"] : [])];
      for (const field of fields) await page.check(`input[name=detect-field][value=${field}]`);
      await page.setInputFiles('.picker[data-picker="detect"] input[type=file]', PHOTO);
      const result = await settled(page, "detect");
      assert.match(result.cls, /ok/, result.text);
      const row = await text(page, "#detect-list li");
      if (lang === "zh") {
        assert.match(result.text, /^找到 1 张人脸，用时 [\d.]+ 毫秒。$/);
        assert.match(row, /^人脸 1：\d+×\d+ 像素，得分 [\d.]+.*，网格 468 个点$/);
        if (fields.includes("age")) assert.match(row, /\d+ 岁，[男女]/);
      } else {
        assert.match(result.text, /^1 face found in [\d.]+ ms\.$/);
        assert.match(row, /^Face 1: \d+×\d+ px, score [\d.]+.*, mesh 468 points$/);
      }
      const shot = await page.screenshot({ path: join(ARTIFACTS, `web-demo-${lang}.png`), fullPage: false });
      assert.ok(shot.length > 10000);
      if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `web-demo-${lang}.png`), fullPage: false });
      // The results already on screen follow a switch.
      await page.click(lang === "zh" ? "#lang-en" : "#lang-zh");
      assert.match(await text(page, "#detect-status"), lang === "zh" ? /^1 face found in/ : /^找到 1 张人脸/);
      assert.match(await text(page, "#detect-list li"), lang === "zh" ? /^Face 1: / : /^人脸 1：/);
    }
  });

  test("no script error happened on the pages", () => {
    assert.deepEqual(pageErrors, []);
  });
});
