// Runs the mini-program's pages in node the way WeChat runs them, for test/pages.test.js.
//
// miniprogram-simulate (WeChat's own package for testing mini-program components) compiles a
// page's WXML with WeChat's WXML compiler (wcc, from miniprogram-compiler), renders it with
// WeChat's component framework (exparser, through j-component) into a jsdom document, adds the
// page's WXSS, and runs the page's JS. app.wxss is added too, as WeChat applies it to every page.
//
// The page JS is the file WeChat runs, unchanged: Page() becomes Component() with the page's
// functions as methods, which is how WeChat itself lets a page be built with Component(); the
// page's onLoad runs when it is attached, as when WeChat opens it. App() and getApp() run app.js
// (its onLaunch builds the API client on the `wx` below).
//
// miniprogram-simulate answers every wx.* call with a canned result; the calls the pages use
// are replaced here by:
//   wx.request, wx.uploadFile, wx.getFileSystemManager -> test/wx-adapter.js: node's fetch to
//     the REAL server, in the result shapes of the WeChat documentation;
//   wx.getStorageSync / setStorageSync / removeStorageSync -> an in-memory store (the phone's);
//   wx.chooseMedia -> the photo the test "picks" with pickPhoto(); none picked = the user
//     cancelled (fail "chooseMedia:fail cancel", as WeChat reports it);
//   wx.createCameraContext().takePhoto -> the photo the camera "sees" (setCameraPhoto());
//   its onCameraFrame -> a frame every 33 ms (30 fps) while started, and
//     wx.createOffscreenCanvas().toDataURL -> that same photo as a JPEG data URL (the frame a
//     phone would encode; node has no JPEG encoder for the RGBA frames).
const fs = require("node:fs");
const path = require("node:path");
const { JSDOM } = require("jsdom");

const ROOT = path.resolve(__dirname, "..");
const PAGES = JSON.parse(fs.readFileSync(path.join(ROOT, "app.json"), "utf8")).pages;

// The DOM miniprogram-simulate renders into; it must exist before the package is loaded.
const jsdom = new JSDOM("<!doctype html><html><head></head><body></body></html>", { pretendToBeVisual: true });
global.window = jsdom.window;
global.document = jsdom.window.document;
global.CustomEvent = jsdom.window.CustomEvent; // j-component dispatches them on DOM nodes
global.TouchEvent = jsdom.window.TouchEvent;

const simulate = require("miniprogram-simulate");
// simulate.load adds the page's own WXSS; app.wxss goes through the same compiler (class names
// get the page's prefix, as simulate does for the page's classes).
const wxss = require("miniprogram-simulate/src/wxss");
const { createWxAdapter } = require("./wx-adapter");

const network = createWxAdapter();
const storage = new Map(); // values kept as JSON: a read returns a copy, as on the phone
const picked = [];
let cameraPhoto = "";

function syncStorage() {
  return {
    getStorageSync: (key) => (storage.has(key) ? JSON.parse(storage.get(key)) : ""),
    setStorageSync: (key, value) => { storage.set(key, JSON.stringify(value)); },
    removeStorageSync: (key) => { storage.delete(key); },
    clearStorageSync: () => { storage.clear(); },
  };
}

Object.assign(global.wx, {
  request: network.request,
  uploadFile: network.uploadFile,
  getFileSystemManager: network.getFileSystemManager,
  ...syncStorage(),
  chooseMedia(options) {
    const filePath = picked.shift();
    setTimeout(() => {
      if (!filePath) {
        options.fail && options.fail({ errMsg: "chooseMedia:fail cancel" });
        return;
      }
      const size = fs.statSync(filePath).size;
      options.success && options.success({ type: "image", tempFiles: [{ tempFilePath: filePath, size, fileType: "image" }], errMsg: "chooseMedia:ok" });
    }, 0);
  },
  createCameraContext() {
    return {
      takePhoto(options) {
        setTimeout(() => {
          if (!cameraPhoto) options.fail && options.fail({ errMsg: "takePhoto:fail camera not ready" });
          else options.success && options.success({ tempImagePath: cameraPhoto, errMsg: "takePhoto:ok" });
        }, 0);
      },
      onCameraFrame(callback) {
        let timer = null;
        return {
          start(options = {}) {
            if (!cameraPhoto) {
              setTimeout(() => options.fail && options.fail({ errMsg: "onCameraFrame:fail camera not ready" }), 0);
              return;
            }
            timer = setInterval(() => callback({ width: 4, height: 3, data: new ArrayBuffer(4 * 3 * 4) }), 33);
            options.success && options.success();
          },
          stop() { clearInterval(timer); },
        };
      },
    };
  },
  createOffscreenCanvas({ width, height }) {
    const pixels = { data: new Uint8ClampedArray(width * height * 4) };
    return {
      width,
      height,
      getContext: () => ({ createImageData: () => pixels, putImageData: () => {} }),
      toDataURL: () => `data:image/jpeg;base64,${fs.readFileSync(cameraPhoto, "base64")}`,
    };
  },
});

let app = null;
global.App = (definition) => { app = definition; };
global.getApp = () => {
  if (!app) throw new Error("launch() the app before opening a page");
  return app;
};

global.Page = (definition) => {
  const methods = {};
  Object.keys(definition).forEach((key) => {
    if (key !== "data") methods[key] = definition[key];
  });
  // Page-only fields that are not functions have no place in a component: fail loudly.
  Object.keys(methods).forEach((key) => {
    if (typeof methods[key] !== "function") throw new Error(`page field ${key} is not supported by the test runner`);
  });
  return global.Component({
    data: definition.data || {},
    methods,
    lifetimes: {
      attached() {
        if (this.onLoad) this.onLoad({});
        if (this.onShow) this.onShow();
      },
      ready() { if (this.onReady) this.onReady(); },
    },
  });
};

/** Start the app as WeChat does: run app.js and its onLaunch (settings come from storage). */
function launch() {
  const appFile = require.resolve(path.join(ROOT, "app.js"));
  delete require.cache[appFile];
  app = null;
  require(appFile);
  app.onLaunch({ path: PAGES[0], query: {}, scene: 1001 });
  return app;
}

function appStyle(tagName) {
  const source = fs.readFileSync(path.join(ROOT, "app.wxss"), "utf8");
  const style = document.createElement("style");
  style.setAttribute("data-app-wxss", tagName);
  style.textContent = wxss.compile(source, { prefix: tagName }).replace(/(\d+)rpx/g, "$1px");
  return style;
}

/** Open a page ("login" for pages/login/login): render its WXML, WXSS and JS, run onLoad. */
function openPage(name) {
  const route = PAGES.find((page) => page === `pages/${name}/${name}`);
  if (!route) throw new Error(`${name} is not a page of app.json`);
  document.head.querySelectorAll("style[data-app-wxss]").forEach((style) => style.remove());
  document.body.innerHTML = "";
  document.head.appendChild(appStyle(name));
  const id = simulate.load(path.join(ROOT, route), name, {
    rootPath: ROOT,
    compilerOptions: { wxmlList: PAGES.map((page) => `${page}.wxml`) },
  });
  const page = simulate.render(id);
  const container = document.createElement("page");
  document.body.appendChild(container);
  page.attach(container);
  return new PageUnderTest(page, name);
}

/** A page on screen: what the user sees (texts, colours) and does (tap, type). */
class PageUnderTest {
  constructor(page, name) {
    this.page = page;
    this.name = name;
    // j-component's node handle (what simulate's querySelector returns), for nodes found by
    // their text: its selectors match ids and classes only, and these buttons have neither.
    this.NodeHandle = Object.getPrototypeOf(Object.getPrototypeOf(page)).constructor;
  }

  get data() { return this.page.data; }

  get text() { return this.page.dom.textContent; }

  /** The DOM elements with a class of the WXML (rendered with the page's prefix). */
  withClass(className) {
    return Array.from(this.page.dom.querySelectorAll(`.${this.name}--${className}`));
  }

  /** Texts of the `<view class="field"><text>label</text><view>value</view></view>` rows. */
  fields() {
    return this.withClass("field").map((row) => {
      const [label, value] = Array.from(row.children);
      return { label: label.textContent, value: value ? value.textContent : "" };
    });
  }

  color(element) { return window.getComputedStyle(element).color; }

  has(tagName) { return this.page.dom.querySelector(`wx-${tagName}`) !== null; }

  button(label) {
    const found = Array.from(this.page.dom.querySelectorAll("wx-button")).filter((b) => b.textContent.trim() === label);
    if (found.length !== 1) throw new Error(`${found.length} buttons "${label}" on ${this.name}: ${this.text}`);
    return new this.NodeHandle(found[0].__wxElement);
  }

  /** A finger on the button: touchstart + touchend, which WeChat's framework turns into tap. */
  tap(label) {
    const button = this.button(label);
    button.dispatchEvent("touchstart");
    button.dispatchEvent("touchend");
  }

  /** Type into the input of the field labelled `label` (bindinput gets detail.value). */
  type(label, value) {
    const row = this.withClass("field").find((r) => r.firstElementChild && r.firstElementChild.textContent === label);
    const input = row && row.querySelector("wx-input");
    if (!input) throw new Error(`no input labelled "${label}" on ${this.name}: ${this.text}`);
    new this.NodeHandle(input.__wxElement).dispatchEvent("input", { detail: { value, cursor: value.length } });
  }

  /** Wait until `condition(this)` holds, as a user waits for the screen to change. */
  async until(condition, what, timeoutMs = 60000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (condition(this)) return;
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: no "${what}" after ${timeoutMs} ms; data ${JSON.stringify(this.data)}; text ${this.text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close() {
    this.page.detach();
    document.body.innerHTML = "";
  }
}

module.exports = {
  launch,
  openPage,
  network,
  storage: syncStorage(),
  /** The next wx.chooseMedia returns this file (as if the user took or chose that photo). */
  pickPhoto(filePath) { picked.push(filePath); },
  /** What the camera component's takePhoto returns from now on. */
  setCameraPhoto(filePath) { cameraPhoto = filePath; },
  pendingPicks: () => picked.length,
  clearPicks: () => { picked.length = 0; },
};
