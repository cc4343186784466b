// Stands in for the WeChat APIs the API module uses (wx.request, wx.uploadFile and the file
// system manager's readFileSync), with node's fetch against a real server. The callbacks and
// result shapes follow the WeChat documentation: request -> {statusCode, data (parsed JSON when
// the response is JSON), header}; uploadFile -> {statusCode, data (always a string)}; network
// failures call fail({errMsg}). api.test.js uses it directly; the page tests get it as their
// wx.request/wx.uploadFile through page-runner.js.
const fs = require("node:fs");
const path = require("node:path");

function headersOf(response) {
  const out = {};
  response.headers.forEach((value, key) => { out[key] = value; });
  return out;
}

function withTimeout(ms) {
  return AbortSignal.timeout(ms || 60000);
}

function createWxAdapter() {
  const calls = [];
  return {
    calls,
    request(options) {
      calls.push({ api: "request", url: options.url, method: options.method || "GET", data: options.data });
      const method = (options.method || "GET").toUpperCase();
      const header = Object.assign({}, options.header);
      let url = options.url;
      let body;
      if (method === "GET" && options.data && typeof options.data === "object") {
        const query = new URLSearchParams(options.data).toString();
        if (query) url += (url.includes("?") ? "&" : "?") + query;
      } else if (options.data !== undefined) {
        body = typeof options.data === "string" ? options.data : JSON.stringify(options.data);
      }
      fetch(url, { method, headers: header, body, signal: withTimeout(options.timeout) })
        .then(async (response) => {
          const text = await response.text();
          let data = text;
          if ((options.dataType || "json") === "json") {
            try { data = JSON.parse(text); } catch (e) { data = text; }
          }
          options.success && options.success({ statusCode: response.status, data, header: headersOf(response) });
        })
        .catch((error) => options.fail && options.fail({ errMsg: `request:fail ${error.message}` }))
        .finally(() => options.complete && options.complete());
    },
    uploadFile(options) {
      calls.push({ api: "uploadFile", url: options.url, name: options.name });
      let bytes;
      try {
        bytes = fs.readFileSync(options.filePath);
      } catch (error) {
        options.fail && options.fail({ errMsg: `uploadFile:fail ${error.message}` });
        return;
      }
      const form = new FormData();
      Object.keys(options.formData || {}).forEach((key) => form.append(key, String(options.formData[key])));
      form.append(options.name, new Blob([bytes]), path.basename(options.filePath));
      fetch(options.url, { method: "POST", headers: options.header || {}, body: form, signal: withTimeout(options.timeout) })
        .then(async (response) => {
          options.success && options.success({ statusCode: response.status, data: await response.text() });
        })
        .catch((error) => options.fail && options.fail({ errMsg: `uploadFile:fail ${error.message}` }))
        .finally(() => options.complete && options.complete());
    },
    getFileSystemManager() {
      return { readFileSync: (filePath, encoding) => fs.readFileSync(filePath, encoding) };
    },
  };
}

module.exports = { createWxAdapter };
